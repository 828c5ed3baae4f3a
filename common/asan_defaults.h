/* For the ASan+UBSan build only (make asan): our programs run inside agent
 * trees where the shim is preloaded first, and ASan refuses to start when
 * its runtime is not the first library ("does not come first"). The shim is
 * never instrumented, so that order is expected: turn the check off by
 * default (ASAN_OPTIONS still overrides). Include once, in a main.c. */
#ifndef VS_ASAN_DEFAULTS_H
#define VS_ASAN_DEFAULTS_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VS_ASAN_BUILD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VS_ASAN_BUILD 1
#endif

#ifdef VS_ASAN_BUILD
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "verify_asan_link_order=0";
}
#endif

#endif

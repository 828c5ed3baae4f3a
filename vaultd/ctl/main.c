#include "vaultctl.h"
#include "asan_defaults.h"

int main(int argc, char **argv)
{
    return vaultctl_main(argc, argv);
}

#include "vaultctl.h"

int main(int argc, char **argv)
{
    return vaultctl_main(argc, argv);
}

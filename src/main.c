/* main.c: command line. (Filled in below the foundation work.) */
#include <stdio.h>

#include "log.h"

int
main(void)
{
	log_init();
	printf("sgguard %s\n", SGGUARD_VERSION);
	return 0;
}

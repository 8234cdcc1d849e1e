/* t_leaks dlopens this: a module whose TLS is allocated at run time (the
 * dynamic TLS blocks the DTV holds), with a pointer kept in it. */
__thread void *tlsmod_slot;
__thread char tlsmod_big[100000];

void tlsmod_set(void *p)
{
    tlsmod_slot = p;
    tlsmod_big[5] = 1;
}

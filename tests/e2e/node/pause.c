/*
 * pause.c - the sandbox ("pause") process of the e2e node's pods (tests/e2e/node.sh).
 *
 * containerd starts one per pod to hold its namespaces. There is no registry on the test
 * machines, so node.sh builds this statically and imports it as the sandbox image. It does what
 * Kubernetes' own pause does: waits, reaps children it inherits (as PID 1 of a pod that shares
 * its process namespace), and exits 0 on SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig)
{
    (void)sig;
    _exit(0);
}

static void reap(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

int main(void)
{
    struct sigaction sa = {0};
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = stop;
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return 1;
    sa.sa_handler = reap;
    sa.sa_flags = SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) != 0)
        return 2;
    for (;;)
        pause();
}

//  freeport.c - prints N free TCP ports on 127.0.0.1 (default 1), one per
//  line, for tests that start real programs. Ports are held until all are
//  chosen, so they differ; another process could still take one after.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define ZJ_MAX_PORTS 64

int
main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 1;
    if (count < 1 || count > ZJ_MAX_PORTS) {
        fprintf(stderr, "usage: freeport [1..%d]\n", ZJ_MAX_PORTS);
        return 2;
    }
    int sockets[ZJ_MAX_PORTS];
    for (int index = 0; index < count; index++) {
        struct sockaddr_in address = {0};
        socklen_t size = sizeof address;
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sockets[index] = socket(AF_INET, SOCK_STREAM, 0);
        if (sockets[index] < 0 ||
            bind(sockets[index], (struct sockaddr *) &address, size) != 0 ||
            getsockname(sockets[index], (struct sockaddr *) &address, &size) !=
                0) {
            perror("freeport");
            return 1;
        }
        printf("%d\n", ntohs(address.sin_port));
    }
    for (int index = 0; index < count; index++)
        close(sockets[index]);
    return 0;
}

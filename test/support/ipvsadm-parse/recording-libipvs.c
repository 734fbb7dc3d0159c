/*
 * A libipvs that records instead of talking to the kernel: each call ipvsadm's parser makes is
 * printed on stdout as one line (`add_service …`, `add_dest …`), with the fields the kernel would
 * get, so `ipvsadm -R` can be run on a kernel without the ip_vs module. Lists are empty.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "libipvs/libipvs.h"

struct ip_vs_getinfo ipvs_info;

int ipvs_init(void) {
  ipvs_info.version = IPVS_VERSION(1, 2, 1);
  ipvs_info.size = 4096;
  return 0;
}
int ipvs_getinfo(void) { return ipvs_init(); }
unsigned int ipvs_version(void) { return ipvs_info.version; }
const char *ipvs_strerror(int err) { return strerror(err); }
void ipvs_close(void) {}

static const char *addr(int af, const union nf_inet_addr *a, char *buf) {
  return inet_ntop(af == AF_INET6 ? AF_INET6 : AF_INET, a, buf, INET6_ADDRSTRLEN);
}
static void svc(const char *what, const ipvs_service_t *s) {
  char b[INET6_ADDRSTRLEN];
  char m[INET6_ADDRSTRLEN];
  if (s->af == AF_INET6) snprintf(m, sizeof m, "/%u", s->netmask);
  else inet_ntop(AF_INET, &s->netmask, m, sizeof m);
  printf("%s af=%s proto=%u addr=%s port=%u fwmark=%u sched=%s flags=0x%x timeout=%u netmask=%s pe=%s", what,
         s->af == AF_INET6 ? "inet6" : "inet", s->protocol, s->fwmark ? "-" : addr(s->af, &s->addr, b),
         ntohs(s->port), s->fwmark, s->sched_name, s->flags, s->timeout, m, s->pe_name);
}
static void dst(const ipvs_dest_t *d) {
  char b[INET6_ADDRSTRLEN];
  printf(" dest af=%s addr=%s port=%u fwd=0x%x weight=%d u_threshold=%u l_threshold=%u",
         d->af == AF_INET6 ? "inet6" : "inet", addr(d->af, &d->addr, b), ntohs(d->port), d->conn_flags,
         d->weight, d->u_threshold, d->l_threshold);
}
int ipvs_flush(void) { printf("flush\n"); return 0; }
int ipvs_add_service(ipvs_service_t *s) { svc("add_service", s); printf("\n"); return 0; }
int ipvs_update_service(ipvs_service_t *s) { svc("edit_service", s); printf("\n"); return 0; }
int ipvs_del_service(ipvs_service_t *s) { svc("del_service", s); printf("\n"); return 0; }
int ipvs_zero_service(ipvs_service_t *s) { svc("zero_service", s); printf("\n"); return 0; }
int ipvs_add_dest(ipvs_service_t *s, ipvs_dest_t *d) { svc("add_dest", s); dst(d); printf("\n"); return 0; }
int ipvs_update_dest(ipvs_service_t *s, ipvs_dest_t *d) { svc("edit_dest", s); dst(d); printf("\n"); return 0; }
int ipvs_del_dest(ipvs_service_t *s, ipvs_dest_t *d) { svc("del_dest", s); dst(d); printf("\n"); return 0; }
int ipvs_set_timeout(ipvs_timeout_t *t) { (void)t; printf("set_timeout\n"); return 0; }
int ipvs_start_daemon(ipvs_daemon_t *d) { (void)d; printf("start_daemon\n"); return 0; }
int ipvs_stop_daemon(ipvs_daemon_t *d) { (void)d; printf("stop_daemon\n"); return 0; }
struct ip_vs_get_services *ipvs_get_services(void) { return NULL; }
int ipvs_cmp_services(ipvs_service_entry_t *a, ipvs_service_entry_t *b) { (void)a; (void)b; return 0; }
void ipvs_sort_services(struct ip_vs_get_services *s, ipvs_service_cmp_t f) { (void)s; (void)f; }
struct ip_vs_get_dests *ipvs_get_dests(ipvs_service_entry_t *s) { (void)s; return NULL; }
int ipvs_cmp_dests(ipvs_dest_entry_t *a, ipvs_dest_entry_t *b) { (void)a; (void)b; return 0; }
void ipvs_sort_dests(struct ip_vs_get_dests *d, ipvs_dest_cmp_t f) { (void)d; (void)f; }
ipvs_service_entry_t *ipvs_get_service(__u32 fwmark, __u16 af, __u16 protocol, union nf_inet_addr a, __u16 port) {
  (void)fwmark; (void)af; (void)protocol; (void)a; (void)port; return NULL;
}
ipvs_timeout_t *ipvs_get_timeout(void) { return NULL; }
ipvs_daemon_t *ipvs_get_daemon(void) { return NULL; }

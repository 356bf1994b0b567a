/*
 * ring-io/header-check.c: calls every function of ringio.h (and a typed wrapper), so
 * that ring-io/check-header.sh compiles all of them, not only their declarations, in
 * each mode (C99, C11, C++11, hypervisor and guest-kernel freestanding flags).
 */
#include "ringio.h"

struct ringio_check_msg {
    uint64_t id;
    uint32_t op;
    uint16_t len;
    uint8_t flags, pad;
};
RINGIO_TYPED(ringio_check_q, struct ringio_check_msg);

#ifdef __cplusplus
extern "C"
#endif
int ringio_check_all(void *area, struct ringio_hdr *hdr, struct ringio_check_msg *ents);

int ringio_check_all(void *area, struct ringio_hdr *hdr, struct ringio_check_msg *ents)
{
    struct ringio_check_q_prod p;
    struct ringio_check_q_cons c;
    struct ringio_check_msg m = { 1, 2, 3, 4, 0 }, v[4];
    struct ringio_pair_layout l;
    struct ringio_front f;
    struct ringio_back b;
    bool n = false;
    int r = 0;

    ringio_hdr_reset(hdr, 0);
    r += ringio_check_q_prod_attach(&p, hdr, ents, 4);
    r += ringio_check_q_cons_attach(&c, hdr, ents, 4);
    r += ringio_check_q_produce_one(&p, &m, &n) + ringio_check_q_produce(&p, &m, 1, NULL);
    r += ringio_check_q_write(&p, &m, 1) + ringio_prod_publish(&p.r, &n);
    r += ringio_prod_space(&p.r) + ringio_prod_arm(&p.r, 1);
    r += ringio_check_q_consume_one(&c, v, &n) + ringio_check_q_consume(&c, v, 4, NULL);
    r += ringio_check_q_read(&c, v, 2) + ringio_cons_publish(&c.r, &n);
    r += ringio_cons_avail(&c.r) + ringio_cons_arm(&c.r, 1);
    r += ringio_produce(&p.r, v, 2, &n) + ringio_produce_one(&p.r, v, &n);
    r += ringio_prod_write(&p.r, v, 1);
    r += ringio_consume(&c.r, v, 2, &n) + ringio_consume_one(&c.r, v, &n);
    r += ringio_cons_read(&c.r, v, 1);
    r += ringio_prod_broken(&p.r) + ringio_cons_broken(&c.r);
    r += (int)ringio_prod_fault(&p.r) + (int)ringio_cons_fault(&c.r);
    r += (int)ringio_prod_size(&p.r) + (int)ringio_cons_size(&c.r);
    ringio_prod_disconnect(&p.r);
    ringio_cons_disconnect(&c.r);
    r += ringio_pair_layout_init(&l, 3, 64, 3, 16) + ringio_pair_fit(4096, 64, 16);
    ringio_pair_reset(area, &l, 0);
    r += ringio_front_attach(&f, area, &l) + ringio_back_attach(&b, area, &l);
    r += ringio_event_crossed(1, 0, 2) + (int)ringio_ents_bytes(3, 8);
    return r + n + (int)v[0].op;
}

/*
 * hako public ABI: error codes.
 *
 * Every hypercall returns a signed 64-bit value in rax: >= 0 is success (meaning per
 * call), < 0 is minus one of the codes below. The set is closed: a hypercall never
 * returns a negative value that is not listed here. Values match Linux's errno numbers
 * so they read familiarly in a debugger.
 */
#ifndef HAKO_ERRNO_H
#define HAKO_ERRNO_H

#define HAKO_EPERM      1   /* caller lacks the privilege for this operation */
#define HAKO_ENOENT     2   /* the named object does not exist (e.g. no async rings) */
#define HAKO_ESRCH      3   /* no such domain */
#define HAKO_EINTR      4   /* interrupted; retry */
#define HAKO_EIO        5   /* a shared ring was corrupted by its peer and has been detached */
#define HAKO_E2BIG      7   /* argument list or batch too long */
#define HAKO_EAGAIN    11   /* resource temporarily unavailable; retry */
#define HAKO_ENOMEM    12   /* out of memory */
#define HAKO_EFAULT    14   /* a guest pointer is not canonical, not guest, not mapped, or lacks permission */
#define HAKO_EBUSY     16   /* object in use */
#define HAKO_EEXIST    17   /* object already exists */
#define HAKO_EINVAL    22   /* an argument value is invalid (bad flag, reason, length, alignment...) */
#define HAKO_ENOSPC    28   /* no space left (table full) */
#define HAKO_ERANGE    34   /* value out of range */
#define HAKO_ENOSYS    38   /* unknown hypercall number or sub-command */
#define HAKO_ENOTCONN 107   /* event channel not connected (peer closed or never bound) */
#define HAKO_ECANCELED 125  /* operation cancelled */

#endif /* HAKO_ERRNO_H */

/*
 * hako public ABI: version numbers.
 *
 * MAJOR changes break compatibility: a guest built for another major is refused.
 * MINOR changes only add (new hypercalls, new sub-commands, new flags, fields carved
 * out of reserved space). A guest may run on a hypervisor whose minor is >= the one it
 * was built for; it detects optional parts with HAKO_HC_version.
 */
#ifndef HAKO_VERSION_H
#define HAKO_VERSION_H

#define HAKO_ABI_MAJOR 0
#define HAKO_ABI_MINOR 10
/* Packed form returned by version(HAKO_VERSION_ABI): major in bits 31..16, minor in 15..0. */
#define HAKO_ABI_VERSION ((HAKO_ABI_MAJOR << 16) | HAKO_ABI_MINOR)

#endif /* HAKO_VERSION_H */

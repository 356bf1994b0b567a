# hako: top-level Makefile. `make run` boots the reference guest; `make test` runs every test.
# Both install missing Debian packages (`make deps`, run once first) and build newlib
# (once, cached) first.

BUILD    ?= build
CC       := gcc
CXX      := g++
LD       := ld
QEMU_RUN := scripts/qemu-run.sh

# Empty until gcc is installed (see the set-up section).
GCC_INC  := $(shell $(CC) -print-file-name=include 2>/dev/null)
WARN     := -Wall -Wextra -Wshadow -Wcast-qual -Wwrite-strings -Werror
FREESTANDING := -std=gnu11 -O2 -g -ffreestanding -fno-stack-protector -mno-red-zone \
	-mgeneral-regs-only -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
	-nostdinc -isystem $(GCC_INC) -MMD -MP

# The hypervisor runs in its own upper-half slots: position-independent code, linked there.
HV_CFLAGS    := $(FREESTANDING) $(WARN) -Wconversion -fpie -fvisibility=hidden -Ihypercall-abi -Ihypervisor \
	-Iring-io -I$(BUILD)/hypervisor
# Guest kernels run in the top 2 GiB of their address space, in ring 3.
GUEST_CFLAGS := $(FREESTANDING) $(WARN) -Wconversion -mcmodel=kernel -fno-pic -fno-pie -Ihypercall-abi -Iguest-pv \
	-Iguest-pv/kernel -Iguest-pv/drivers -Iguest-pv/arch/x86 -Iring-io
LDFLAGS_FREE := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments
HOST_CFLAGS  := -std=gnu11 -O1 -g $(WARN) -DHAKO_HOST_TEST -Ihypercall-abi -Ihypervisor -Iring-io \
	-fsanitize=address,undefined -fno-sanitize-recover=all -MMD -MP

HV_SRCS    := $(filter-out hypervisor/asm-offsets.c,$(wildcard hypervisor/*.c)) hypervisor/boot.S \
	hypervisor/entry.S
HV_OBJS    := $(patsubst %,$(BUILD)/%.o,$(HV_SRCS))
HV_ELF     := $(BUILD)/hako.elf

# The guest OS (guest-pv/, README "Layout"): its core in kernel/, PV device drivers in
# drivers/, and one directory per privops backend in arch/<backend>/ (arch/<b>/privops.c
# plus any files next to it, and its own headers; arch/x86/ holds the CPU tables, entry
# points and UART the trap and native backends share). BACKENDS lists them; every kernel
# image links all of them and the boot word privops=<backend> picks one (kernel/privops.c).
BACKENDS      := pv trap
arch_srcs = $(wildcard guest-pv/arch/$(1)/*.c guest-pv/arch/$(1)/*.S)
GUEST_HEAD := $(BUILD)/guest-pv/kernel/head.S.o
GUEST_LIB_SRCS := $(addprefix guest-pv/kernel/,klib.c privops.c entry.S mm.c) \
	$(addprefix guest-pv/drivers/,hvplatform.c physmap.c) \
	$(foreach b,$(BACKENDS) x86,$(call arch_srcs,$(b)))
GUEST_LIB_OBJS := $(patsubst %,$(BUILD)/%.o,$(GUEST_LIB_SRCS))
GUEST_KERNEL_SRCS := $(addprefix guest-pv/kernel/,main.c trap.c switch.S kmalloc.c \
	fs.c fs_data.c file.c cpio.c pipe.c uvm.c proc.c exec.c syscall.c \
	bcache.c ext2_super.c ext2_inode.c ext2_dir.c ext2_vfs.c) \
	$(addprefix guest-pv/drivers/,events.c console.c consring.c tty.c domains.c gnttab.c \
	virtio_blk.c blkback.c blkback_check.c blkfront.c diskdev.c)
GUEST_KERNEL_OBJS := $(GUEST_HEAD) $(patsubst %,$(BUILD)/%.o,$(GUEST_KERNEL_SRCS))
GUEST_LD := guest-pv/kernel/kernel.ld
# The guest kernel alone (what domUs boot; dom0 ships it in /boot), and dom0's image:
# the same kernel carrying dom0's initrd (QEMU passes the hypervisor one boot module).
GUEST_KERNEL := $(BUILD)/guest-pv/kernel.elf
GUEST_ELF  := $(BUILD)/guest-pv.elf
NATIVE_ELF := $(BUILD)/guest-pv-native.elf
# XTF test kernels, each built once per backend its source names on an "XTF-ENVS:" line
# (XTF's TEST-ENVS; none = XTF_DEFAULT_ENVS), as build/tests/xtf/<backend>/test-<name>.elf.
XTF_TESTS  := $(patsubst tests/xtf/test-%.c,%,$(wildcard tests/xtf/test-*.c))
XTF_DEFAULT_ENVS := pv
xtf_envs = $(or $(shell sed -n 's/.*XTF-ENVS: *//p' tests/xtf/test-$(1).c | head -1),$(XTF_DEFAULT_ENVS))
XTF_ELFS   := $(foreach t,$(XTF_TESTS),$(foreach e,$(call xtf_envs,$(t)),$(BUILD)/tests/xtf/$(e)/test-$(t).elf))
XTF_SELFTEST_ELF := $(BUILD)/tests/xtf/selftest/nocheck.elf

# The porter's minimal guest (tests/abi/minimal): written from ABI.md alone.
MINIMAL_ELF := $(BUILD)/tests/abi/minimal.elf

# Benchmark kernels: one per tests/bench/bench-<name>.c as build/tests/bench/bench-<name>.elf,
# or, when the source has a "BENCH-ENVS:" line naming backends, one per backend as
# build/tests/bench/<backend>/bench-<name>.elf (booted with privops=<backend>).
BENCHES    := $(patsubst tests/bench/bench-%.c,%,$(wildcard tests/bench/bench-*.c))
bench_envs = $(shell sed -n 's/.*BENCH-ENVS: *//p' tests/bench/bench-$(1).c | head -1)
BENCH_ELFS := $(foreach b,$(BENCHES),$(if $(call bench_envs,$(b)),\
	$(foreach e,$(call bench_envs,$(b)),$(BUILD)/tests/bench/$(e)/bench-$(b).elf),\
	$(BUILD)/tests/bench/bench-$(b).elf))

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst %,$(BUILD)/tests/unit/%,$(UNIT_TESTS))

ABI_HEADERS := $(wildcard hypercall-abi/hako/*.h)
ABI_STAMP   := $(BUILD)/abi/headers.ok

DEPS_STAMP   := $(BUILD)/.deps-ok
NEWLIB_STAMP := $(BUILD)/newlib/.stamp

include guest-pv/user/user.mk

.PHONY: all deps newlib run run-native test bench debug clean
all: $(HV_ELF) $(GUEST_ELF) $(NATIVE_ELF) $(XTF_ELFS) $(XTF_SELFTEST_ELF) $(BENCH_ELFS) $(UNIT_BINS) $(ABI_STAMP) $(RINGIO_STAMP) $(INITRD_DOM0) \
	$(MINIMAL_ELF)

# ---- set-up -------------------------------------------------------------------------
# `make deps` installs the missing Debian packages (scripts/deps.sh); no compile rule runs
# it. The goals in DEPS_GOALS do it once, before anything else: they include $(DEPS_STAMP)
# as a makefile, so when it is missing or older than deps.sh make runs deps.sh, then
# re-reads this Makefile, and the toolchain probes (GCC_INC, USER_LIBGCC) see what it
# installed. `make bench` does the same for `deps.sh bench`.
DEPS_GOALS := all run run-native test debug bench newlib user initrd
GOALS      := $(or $(MAKECMDGOALS),all)
DEPS_RUN    = scripts/deps.sh$(if $1, $1) && mkdir -p $(dir $2) && touch $2
$(DEPS_STAMP): scripts/deps.sh
	$(call DEPS_RUN,,$@)
deps:
	$(call DEPS_RUN,,$(DEPS_STAMP))
ifneq ($(filter $(DEPS_GOALS),$(GOALS)),)
include $(DEPS_STAMP)
endif
# Any other goal (a single file, say) needs deps done already: say so if gcc is missing,
# rather than fail in the first compile. (With the stamp still to make, wait for it.)
ifeq ($(wildcard $(GCC_INC)/stddef.h),)
ifneq ($(filter-out clean deps $(DEPS_STAMP),$(GOALS)),)
ifneq ($(wildcard $(DEPS_STAMP))$(filter-out $(DEPS_GOALS),$(GOALS)),)
$(error $(CC) or its headers are missing: run `make deps` (scripts/deps.sh) first)
endif
endif
endif

$(NEWLIB_STAMP):
	scripts/build-newlib.sh $(BUILD)/newlib
newlib: $(NEWLIB_STAMP)

# ---- hypervisor ---------------------------------------------------------------------
HV_VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
$(BUILD)/hypervisor/version.h: FORCE
	@mkdir -p $(@D)
	@echo '#define HAKO_HV_VERSION "hako-$(HV_VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

$(BUILD)/hypervisor/main.c.o $(BUILD)/hypervisor/hypercall.c.o: $(BUILD)/hypervisor/version.h
$(BUILD)/hypervisor/main.c.o $(BUILD)/hypervisor/hypercall.c.o: HV_CFLAGS += -include $(BUILD)/hypervisor/version.h

# The structure offsets entry.S uses, generated from the C definitions: asm-offsets.c is
# compiled to assembly only, and each "->NAME value" line it leaves becomes a #define.
$(BUILD)/hypervisor/asm-offsets.h: hypervisor/asm-offsets.c
	@mkdir -p $(@D)
	$(CC) $(HV_CFLAGS) -MT $@ -MF $@.d -S $< -o $@.s
	@{ echo '/* Generated from hypervisor/asm-offsets.c: do not edit. */'; \
	  sed -n 's/^[[:space:]]*->\([A-Z_0-9]*\) \$$\{0,1\}\(-\{0,1\}[0-9]*\).*/#define \1 \2/p' $@.s; } > $@.tmp
	@rm -f $@.s && mv $@.tmp $@
$(BUILD)/hypervisor/entry.S.o: $(BUILD)/hypervisor/asm-offsets.h

$(BUILD)/hypervisor/%.c.o: hypervisor/%.c
	@mkdir -p $(@D)
	$(CC) $(HV_CFLAGS) -c $< -o $@
$(BUILD)/hypervisor/%.S.o: hypervisor/%.S
	@mkdir -p $(@D)
	$(CC) $(HV_CFLAGS) -c $< -o $@
$(HV_ELF): $(HV_OBJS) hypervisor/hako.ld
	$(LD) $(LDFLAGS_FREE) -T hypervisor/hako.ld -o $@ $(HV_OBJS)

# ---- guest kernels ------------------------------------------------------------------
$(BUILD)/guest-pv/%.c.o: guest-pv/%.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest-pv/%.S.o: guest-pv/%.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(GUEST_KERNEL): $(GUEST_KERNEL_OBJS) $(GUEST_LIB_OBJS) $(GUEST_LD)
	$(LD) $(LDFLAGS_FREE) -T $(GUEST_LD) -o $@ $(GUEST_KERNEL_OBJS) $(GUEST_LIB_OBJS)
$(GUEST_ELF): $(GUEST_KERNEL_OBJS) $(GUEST_LIB_OBJS) $(BUILD)/guest-pv/kernel/initrd_blob.S.o \
		$(GUEST_LD)
	$(LD) $(LDFLAGS_FREE) -T $(GUEST_LD) -o $@ $(GUEST_KERNEL_OBJS) $(GUEST_LIB_OBJS) \
		$(BUILD)/guest-pv/kernel/initrd_blob.S.o
# The native image (README "Native mode"): the same kernel objects linked a second time,
# with arch/native/'s PVH entry and backend, at physical 1 MiB, to boot with no hypervisor.
NATIVE_OBJS := $(patsubst %,$(BUILD)/%.o,$(wildcard guest-pv/arch/native/*.S guest-pv/arch/native/*.c))
NATIVE_LD   := guest-pv/arch/native/kernel-native.ld
$(NATIVE_ELF): $(NATIVE_OBJS) $(filter-out $(GUEST_HEAD),$(GUEST_KERNEL_OBJS)) $(GUEST_LIB_OBJS) \
		$(BUILD)/guest-pv/kernel/initrd_blob.S.o $(NATIVE_LD)
	$(LD) $(LDFLAGS_FREE) -T $(NATIVE_LD) -o $@ $(filter %.o,$^)
$(BUILD)/guest-pv/kernel/initrd_blob.S.o: $(INITRD_DOM0)
$(BUILD)/guest-pv/kernel/initrd_blob.S.o: GUEST_CFLAGS += -DINITRD_PATH='"$(INITRD_DOM0)"'

$(BUILD)/tests/xtf/%.c.o: tests/xtf/%.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -Itests/xtf -c $< -o $@
# Test and benchmark kernels link the guest's library pieces (every backend, as the kernel
# does) from an archive, so each takes only what it uses (a test that wants exception
# entry defines guest_trap()).
GUEST_LIB_A := $(BUILD)/guest-pv/libguest.a
$(GUEST_LIB_A): $(GUEST_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
# Link a test kernel: its head first (the usual one, or a test's own: XTF_HEAD_<name>),
# then its objects, then the backend's archive.
XTF_HEADS := $(GUEST_HEAD) $(BUILD)/tests/xtf/head-abi04.S.o $(BUILD)/tests/xtf/head-abi07.S.o
XTF_LINK = $(LD) $(LDFLAGS_FREE) -T $(GUEST_LD) -o $@ $(filter $(XTF_HEADS),$^) \
	$(filter-out $(XTF_HEADS),$(filter %.o,$^)) $(filter %.a,$^)
.SECONDEXPANSION:
define XTF_ENV_RULE
$(BUILD)/tests/xtf/$(1)/test-%.c.o: tests/xtf/test-%.c
	@mkdir -p $$(@D)
	$(CC) $(GUEST_CFLAGS) -Iguest-pv/arch/$(1) -Itests/xtf -c $$< -o $$@
$(BUILD)/tests/xtf/$(1)/test-%.elf: $(BUILD)/tests/xtf/$(1)/test-%.c.o $(BUILD)/tests/xtf/framework.c.o \
		$$$$(or $$$$(XTF_HEAD_$$$$*),$(GUEST_HEAD)) $(GUEST_LIB_A) $(GUEST_LD)
	@mkdir -p $$(@D)
	$$(XTF_LINK)
endef
$(foreach b,$(BACKENDS),$(eval $(call XTF_ENV_RULE,$(b))))
# xtf_errname's table, from every code hako/errno.h defines.
XTF_ERRNAMES := $(BUILD)/tests/xtf/errnames.h
$(XTF_ERRNAMES): hypercall-abi/hako/errno.h scripts/gen-errnames.py
	@mkdir -p $(@D)
	python3 scripts/gen-errnames.py $< $@
$(BUILD)/tests/xtf/framework.c.o: $(XTF_ERRNAMES)
$(BUILD)/tests/xtf/framework.c.o: GUEST_CFLAGS += -I$(BUILD)/tests/xtf
# The framework's own check: a kernel that makes no check must report ERROR (run.sh).
$(XTF_SELFTEST_ELF): $(BUILD)/tests/xtf/selftest/nocheck.c.o $(BUILD)/tests/xtf/framework.c.o \
		$(GUEST_HEAD) $(GUEST_LIB_A) $(GUEST_LD)
	$(XTF_LINK)
# Some tests carry a small domU kernel (tests/xtf/domu) to create domains from.
DOMU_ELF := $(BUILD)/tests/xtf/domu/domu.elf
$(BUILD)/tests/xtf/domu/%.o: tests/xtf/domu/%
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(DOMU_ELF): $(BUILD)/tests/xtf/domu/domu.c.o $(GUEST_HEAD) $(GUEST_LIB_A) $(GUEST_LD)
	$(XTF_LINK)
$(BUILD)/tests/xtf/domu/image.S.o: $(DOMU_ELF)
$(BUILD)/tests/xtf/domu/image.S.o: GUEST_CFLAGS += -DDOMU_PATH='"$(DOMU_ELF)"'
XTF_DOMU_USERS := domains foreign vcpu-state abi04 trap-attacks grant
$(foreach e,$(BACKENDS),$(foreach t,$(XTF_DOMU_USERS),\
	$(eval $(BUILD)/tests/xtf/$(e)/test-$(t).elf: $(BUILD)/tests/xtf/domu/image.S.o)))
$(BUILD)/tests/bench/bench-domains.elf: $(BUILD)/tests/xtf/domu/image.S.o
# The hostile block front end dom0 ships as /boot/xtf-blkhostile.elf (a domU of the
# reference dom0: tests/system/test-blk-hostile.sh; XTF_BLKHOSTILE_ELF is set in user.mk).
$(XTF_BLKHOSTILE_ELF): $(BUILD)/tests/xtf/blkhostile/blkhostile.c.o $(BUILD)/tests/xtf/framework.c.o \
		$(GUEST_HEAD) $(GUEST_LIB_A) $(GUEST_LD)
	$(XTF_LINK)
# test-abi04 declares ABI 0.4 in its note: head.S built for that minor replaces the usual one.
XTF_HEAD_abi04 := $(BUILD)/tests/xtf/head-abi04.S.o
$(XTF_HEAD_abi04): guest-pv/kernel/head.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -DHAKO_NOTE_ABI_MINOR=4 -c $< -o $@
# test-abi07 likewise declares ABI 0.7 (GETINFO's size before mode and emulated[]).
XTF_HEAD_abi07 := $(BUILD)/tests/xtf/head-abi07.S.o
$(XTF_HEAD_abi07): guest-pv/kernel/head.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -DHAKO_NOTE_ABI_MINOR=7 -c $< -o $@

# Benchmark kernels: XTF framework plus the guest's memory code.
$(BUILD)/tests/bench/%.c.o: tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -Itests/xtf -c $< -o $@
$(BUILD)/tests/bench/bench-%.elf: $(BUILD)/tests/bench/bench-%.c.o $(BUILD)/tests/xtf/framework.c.o \
		$(GUEST_HEAD) $(GUEST_LIB_A) $(GUEST_LD)
	$(XTF_LINK)
# The same per backend, as XTF_ENV_RULE builds test kernels.
define BENCH_ENV_RULE
$(BUILD)/tests/bench/$(1)/bench-%.c.o: tests/bench/bench-%.c
	@mkdir -p $$(@D)
	$(CC) $(GUEST_CFLAGS) -Iguest-pv/arch/$(1) -Itests/xtf -c $$< -o $$@
$(BUILD)/tests/bench/$(1)/bench-%.elf: $(BUILD)/tests/bench/$(1)/bench-%.c.o \
		$(BUILD)/tests/xtf/framework.c.o $(GUEST_HEAD) $(GUEST_LIB_A) $(GUEST_LD)
	$$(XTF_LINK)
endef
$(foreach b,$(BACKENDS),$(eval $(call BENCH_ENV_RULE,$(b))))

# ---- the porter's minimal guest (tests/abi/minimal) ---------------------------------
# It sees the public headers and nothing else of the tree.
MINIMAL_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-stack-protector -mno-red-zone \
	-mgeneral-regs-only -mcmodel=kernel -fno-pic -fno-pie -nostdinc -isystem $(GCC_INC) $(WARN) \
	-Ihypercall-abi -MMD -MP
$(BUILD)/tests/abi/minimal/%.o: tests/abi/minimal/%
	@mkdir -p $(@D)
	$(CC) $(MINIMAL_CFLAGS) -c $< -o $@
$(MINIMAL_ELF): $(BUILD)/tests/abi/minimal/entry.S.o $(BUILD)/tests/abi/minimal/kernel.c.o \
		tests/abi/minimal/kernel.ld
	$(LD) $(LDFLAGS_FREE) -T tests/abi/minimal/kernel.ld -o $@ $(filter %.o,$^)

# ---- host unit tests (cmocka) -------------------------------------------------------
UNIT_SRCS_test_elf          := hypervisor/elf.c
UNIT_SRCS_test_frame        := hypervisor/frame.c tests/unit/hv_stubs.c
UNIT_SRCS_test_guest_access := hypervisor/guest_access.c hypervisor/frame.c tests/unit/hv_stubs.c
UNIT_SRCS_test_pagetype := hypervisor/pagetype.c hypervisor/frame.c tests/unit/hv_stubs.c
UNIT_SRCS_test_grant := hypervisor/pagetype.c hypervisor/frame.c tests/unit/hv_stubs.c
UNIT_SRCS_test_sched_policy := hypervisor/sched_policy.c tests/unit/hv_stubs.c
UNIT_SRCS_test_evtchn := hypervisor/evtchn.c hypervisor/guest_access.c hypervisor/frame.c tests/unit/hv_stubs.c
UNIT_SRCS_test_x86_decode := hypervisor/x86_decode.c
UNIT_SRCS_test_emulate_cpuid := hypervisor/emulate_cpuid.c
UNIT_SRCS_test_ringio :=
UNIT_SRCS_test_blkback := guest-pv/drivers/blkback_check.c
UNIT_FLAGS_test_blkback := -Iguest-pv/drivers
UNIT_LIBS_test_ringio := -lpthread
UNIT_GUEST_FS := $(addprefix guest-pv/kernel/,kmalloc.c fs.c fs_data.c file.c pipe.c cpio.c \
	bcache.c ext2_super.c ext2_inode.c ext2_dir.c ext2_vfs.c) \
	guest-pv/drivers/tty.c guest-pv/drivers/diskdev.c tests/unit/guest_stubs.c
UNIT_SRCS_test_fs := $(UNIT_GUEST_FS)
UNIT_SRCS_test_cpio := $(UNIT_GUEST_FS)
UNIT_SRCS_test_pipe_tty := $(UNIT_GUEST_FS)
UNIT_SRCS_test_ext2 := $(UNIT_GUEST_FS)
UNIT_FLAGS_test_fs := -Iguest-pv -Iguest-pv/kernel -Iguest-pv/drivers
UNIT_FLAGS_test_cpio := $(UNIT_FLAGS_test_fs)
UNIT_FLAGS_test_pipe_tty := $(UNIT_FLAGS_test_fs)
UNIT_FLAGS_test_ext2 := $(UNIT_FLAGS_test_fs)
$(BUILD)/tests/unit/%: tests/unit/%.c $$(UNIT_SRCS_%)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(UNIT_FLAGS_$*) -o $@ $< $(UNIT_SRCS_$*) -lcmocka $(UNIT_LIBS_$*)

# ---- ring-io: its header compiles alone as C99, C11, C++11 and freestanding ---------
RINGIO_STAMP := $(BUILD)/ring-io/header.ok
$(RINGIO_STAMP): ring-io/ringio.h ring-io/header-check.c ring-io/check-header.sh
	@mkdir -p $(@D)
	@ring-io/check-header.sh > $@.log 2>&1 || { cat $@.log; exit 1; }
	@touch $@

# ---- host ring benchmark (make bench only): -O2, no sanitizers ------------------------
# It compares ring-io with ck_ring, rte_ring and Xen's ring.h: `deps.sh bench` installs
# those packages (DPDK is big, so `make run`/`make test` do not need them), once, before
# `make bench` builds anything (included like $(DEPS_STAMP)).
RINGBENCH := $(BUILD)/tests/ringbench/ringbench
BENCH_DEPS_STAMP := $(BUILD)/.deps-bench-ok
$(BENCH_DEPS_STAMP): scripts/deps.sh
	$(call DEPS_RUN,bench,$@)
ifneq ($(filter bench,$(GOALS)),)
include $(BENCH_DEPS_STAMP)
endif
# Expanded when the recipe runs, after deps.sh bench. DPDK's headers as system headers.
RINGBENCH_DPDK = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libdpdk 2>/dev/null))
$(RINGBENCH): tests/ringbench/ringbench.c ring-io/ringio.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(WARN) $(RINGBENCH_DPDK) -o $@ $< \
		$(if $(RINGBENCH_DPDK),-lrte_ring) -lpthread

# ---- public headers: each compiles alone as C99, C11 and C++ ------------------------
$(ABI_STAMP): $(ABI_HEADERS) tests/abi/check-headers.sh
	@mkdir -p $(@D)
	@tests/abi/check-headers.sh > $@.log || { grep -A20 FAIL $@.log; exit 1; }
	@touch $@

# ---- running ------------------------------------------------------------------------
# The machine's disk (a virtio-blk device dom0 drives, ABI.md 22-23): created on first
# use, kept afterwards; DISK=path picks another image. dom0's ext2 file system (mounted
# at /disk) takes the first DISK_FS_SIZE; domUs' disks (hako create ... disk=) are
# regions of the rest.
DISK ?= $(BUILD)/disk.img
DISK_SIZE ?= 128M
DISK_FS_SIZE ?= 64M
$(BUILD)/disk.img:
	@mkdir -p $(@D)
	truncate -s $(DISK_SIZE) $@.tmp
	/sbin/mke2fs -q -t ext2 -L hako-dom0 -F $@.tmp $(DISK_FS_SIZE)
	mv $@.tmp $@

run: all $(NEWLIB_STAMP) $(DISK)
	$(QEMU_RUN) --console --reboot-loop --disk $(DISK) $(HV_ELF) $(GUEST_ELF) $(CMDLINE)

# The reference kernel with no hypervisor (README "Native mode"), with dom0's memory plus
# what the boot tables and the p2m take.
NATIVE_MEM ?= 40M
run-native: all $(NEWLIB_STAMP)
	$(QEMU_RUN) --console --reboot-loop --mem $(NATIVE_MEM) --native $(NATIVE_ELF) $(CMDLINE)

debug: all
	@echo "QEMU waits for gdb on :1234. In another terminal run:"
	@echo "  gdb $(HV_ELF) -ex 'target remote :1234' -ex 'add-symbol-file $(GUEST_ELF)'"
	$(QEMU_RUN) --debug --timeout 0 $(HV_ELF) $(GUEST_ELF) $(CMDLINE)

test: all $(NEWLIB_STAMP)
	tests/run.sh $(BUILD)

# Benchmarks print tables and write $(BUILD)/bench/results.csv; they are not tests.
bench: all $(RINGBENCH)
	scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)/hypervisor $(BUILD)/guest-pv $(BUILD)/tests $(BUILD)/abi $(BUILD)/ring-io \
		$(BUILD)/user $(BUILD)/initrd \
		$(BUILD)/*.elf

.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

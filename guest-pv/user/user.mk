# guest-pv/user/user.mk: the guest OS's user space (included by the top Makefile).
#
# Builds libhos.a (crt0 + newlib glue), the shell and the programs in guest-pv/user/bin/,
# dom0-tools/ and tests/bench/tradeoff/ as static ELF64 executables linked at 0x400000, and the two initrds:
#   INITRD_DOMU  $(BUILD)/initrd/domu.cpio  a small set for domUs
#   INITRD_DOM0  $(BUILD)/initrd/dom0.cpio  every program, /etc, the guest kernel and
#                                           domu.cpio under /boot (to create domUs from),
#                                           and the test domU xtf-blkhostile.elf
# Exported for the top Makefile: USER_PROGS (every user ELF), INITRD_DOMU, INITRD_DOM0.
#
# Included before the top Makefile's `all:` (which lists $(INITRD_DOM0)), so it needs
# GUEST_KERNEL (or GUEST_ELF), NEWLIB_STAMP, GCC_INC and WARN defined above
# the include, and it leaves the default goal alone.

USER_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

USER_OUT     := $(BUILD)/user
USER_NEWLIB  := $(BUILD)/newlib
USER_CFLAGS_LIBC := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mcmodel=small -fno-stack-protector -nostdinc -isystem $(USER_NEWLIB)/include \
	-isystem $(GCC_INC) -Iguest-pv/user -Iguest-pv/user/lib -Ihypercall-abi $(WARN) -MMD -MP
# One read-execute and one read-write segment from 0x400000; brk starts after .bss.
USER_LDFLAGS := -static -nostdlib -e _start -z max-page-size=4096 -z noexecstack \
	-z noseparate-code -z norelro -Ttext-segment=0x400000
USER_LIBGCC  := $(shell $(CC) -print-libgcc-file-name 2>/dev/null)

USER_LIB_SRCS := guest-pv/user/lib/syscalls.c
USER_LIB_OBJS := $(patsubst %,$(USER_OUT)/obj/%.o,$(USER_LIB_SRCS))
USER_LIB_A    := $(USER_OUT)/lib/libhos.a
USER_CRT0     := $(USER_OUT)/obj/guest-pv/user/lib/crt0.S.o

USER_BIN_NAMES  := $(patsubst guest-pv/user/bin/%.c,%,$(wildcard guest-pv/user/bin/*.c))
USER_TOOL_NAMES := $(patsubst dom0-tools/%.c,%,$(wildcard dom0-tools/*.c))
USER_BIN_ELFS   := $(patsubst %,$(USER_OUT)/bin/%,$(USER_BIN_NAMES))
USER_TOOL_ELFS  := $(patsubst %,$(USER_OUT)/bin/%,$(USER_TOOL_NAMES))
USER_SH_ELF     := $(USER_OUT)/bin/sh
# The trade-off benchmark's workloads (tests/bench/tradeoff/, run only by make bench).
USER_BENCH_ELFS := $(USER_OUT)/bin/tradeoff
USER_PROGS      := $(USER_SH_ELF) $(USER_BIN_ELFS) $(USER_TOOL_ELFS) $(USER_BENCH_ELFS)

USER_ETC_FILES  := $(wildcard guest-pv/user/etc/*)

# The kernel image dom0 ships in /boot for domUs: the bare kernel (GUEST_KERNEL) when the
# Makefile has one, because GUEST_ELF then embeds this very initrd.
USER_BOOT_KERNEL := $(if $(GUEST_KERNEL),$(GUEST_KERNEL),$(GUEST_ELF))

# A hostile block front end (tests/xtf/blkhostile, linked by the top Makefile), for
# tests/system/test-blk-hostile.sh to create as a domU.
XTF_BLKHOSTILE_ELF := $(BUILD)/tests/xtf/blkhostile/blkhostile.elf
INITRD_DOMU := $(BUILD)/initrd/domu.cpio
INITRD_DOM0 := $(BUILD)/initrd/dom0.cpio
# What a domU gets: a shell and the everyday programs.
INITRD_DOMU_NAMES := sh echo ls cat true false uptime free ps sleep kill mkdir rm hako blkbench \
	sync poweroff

# ---- compiling and linking ----------------------------------------------------------
$(USER_OUT)/obj/%.c.o: %.c | $(NEWLIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS_LIBC) -c $< -o $@
$(USER_OUT)/obj/%.S.o: %.S | $(NEWLIB_STAMP)
	@mkdir -p $(@D)
	$(CC) $(USER_CFLAGS_LIBC) -c $< -o $@

$(USER_LIB_A): $(USER_LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# libhos.a is linked whole, before libc: libc calls back into it (read, sbrk...), and its
# signal() and raise() must win over newlib's emulation in lib_a-signal.o (which abort()
# would otherwise pull in first, giving duplicate definitions).
USER_LINK = $(LD) $(USER_LDFLAGS) -o $@ $(USER_CRT0) $(filter %.c.o,$^) \
	--whole-archive $(USER_LIB_A) --no-whole-archive \
	-L$(USER_NEWLIB)/lib --start-group -lc -lm $(USER_LIBGCC) --end-group
USER_LINK_DEPS := $(USER_CRT0) $(USER_LIB_A) $(NEWLIB_STAMP)

$(USER_SH_ELF): $(USER_OUT)/obj/guest-pv/user/sh.c.o $(USER_OUT)/obj/guest-pv/user/sh_parse.c.o \
		$(USER_LINK_DEPS)
	@mkdir -p $(@D)
	$(USER_LINK)
$(USER_BIN_ELFS): $(USER_OUT)/bin/%: $(USER_OUT)/obj/guest-pv/user/bin/%.c.o $(USER_LINK_DEPS)
	@mkdir -p $(@D)
	$(USER_LINK)
$(USER_TOOL_ELFS): $(USER_OUT)/bin/%: $(USER_OUT)/obj/dom0-tools/%.c.o $(USER_LINK_DEPS)
	@mkdir -p $(@D)
	$(USER_LINK)
$(USER_BENCH_ELFS): $(USER_OUT)/bin/%: $(USER_OUT)/obj/tests/bench/tradeoff/%.c.o $(USER_LINK_DEPS)
	@mkdir -p $(@D)
	$(USER_LINK)

# ---- initrds (cpio newc, deterministic) ------------------------------------------------
# The archives hold copies without debug information (a tenth of the size: the initrd is
# loaded into RAM); the ELFs in $(USER_OUT)/bin keep theirs for gdb.
USER_STRIPPED = $(patsubst $(USER_OUT)/bin/%,$(USER_OUT)/stripped/%,$(1))
$(USER_OUT)/stripped/%: $(USER_OUT)/bin/%
	@mkdir -p $(@D)
	strip --strip-all -o $@ $<
$(USER_OUT)/stripped/xtf-blkhostile.elf: $(XTF_BLKHOSTILE_ELF)
	@mkdir -p $(@D)
	strip --strip-all -o $@ $<
USER_BOOT_KERNEL_STRIPPED := $(USER_OUT)/stripped/hako-guest.elf
$(USER_BOOT_KERNEL_STRIPPED): $(USER_BOOT_KERNEL)
	@mkdir -p $(@D)
	strip --strip-debug -o $@ $<

$(INITRD_DOMU): scripts/mkcpio.py guest-pv/user/user.mk $(patsubst %,$(USER_OUT)/stripped/%,$(INITRD_DOMU_NAMES)) \
		guest-pv/user/etc/rc
	@mkdir -p $(@D)
	python3 scripts/mkcpio.py -o $@ \
		$(foreach n,$(INITRD_DOMU_NAMES),--file bin/$(n) $(USER_OUT)/stripped/$(n) 0755) \
		--file etc/rc guest-pv/user/etc/rc 0644

$(INITRD_DOM0): scripts/mkcpio.py guest-pv/user/user.mk $(call USER_STRIPPED,$(USER_PROGS)) $(USER_ETC_FILES) \
		$(USER_BOOT_KERNEL_STRIPPED) $(INITRD_DOMU) $(USER_OUT)/stripped/xtf-blkhostile.elf
	@mkdir -p $(@D)
	python3 scripts/mkcpio.py -o $@ \
		$(foreach p,$(call USER_STRIPPED,$(USER_PROGS)),--file bin/$(notdir $(p)) $(p) 0755) \
		--tree etc guest-pv/user/etc \
		--file boot/hako-guest.elf $(USER_BOOT_KERNEL_STRIPPED) 0644 \
		--file boot/domu.cpio $(INITRD_DOMU) 0644 \
		--file boot/xtf-blkhostile.elf $(USER_OUT)/stripped/xtf-blkhostile.elf 0644

.PHONY: user initrd
user: $(USER_PROGS)
initrd: $(INITRD_DOMU) $(INITRD_DOM0)

.DEFAULT_GOAL := $(USER_SAVED_DEFAULT_GOAL)

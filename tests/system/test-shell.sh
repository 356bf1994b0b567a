#!/usr/bin/env bash
# tests/system/test-shell.sh: drive dom0's shell over the serial console, as a person
# would with `make run`: usertests, a pipeline, redirections, background jobs, $?, and
# the `hako` tool creating, listing, watching, pausing and destroying domUs.
cd "$(dirname "$0")/../.." || exit 1
. tests/system/lib.sh

# ---- the shell and the system calls -------------------------------------------------
session 300 <<'EOF'
echo hello from the shell
usertests
echo usertests status $?
echo alpha beta gamma | cat | cat
echo first > /tmp/f
echo second >> /tmp/f
cat < /tmp/f
ls /bin
false
echo status $?
sleep 1 &
echo background started
nosuchprogram
echo missing status $?
free
ps
poweroff
EOF
expect_status 0 "poweroff from the dom0 shell exits 0"
expect_output "shell prompt and echo" '^hako\$ ' 'hello from the shell'
expect_output "usertests: all pass" 'ALL TESTS PASSED' 'usertests status 0'
expect_no_output "usertests: nothing fails" 'usertests: .*FAIL'
expect_output "a pipeline" 'alpha beta gamma'
expect_output "redirections > >> <" '(^|\$ )first$' '^second$'
expect_output "ls /bin lists programs" 'usertests' 'hako'
expect_output "exit status in \$?" 'status 1' 'missing status 127'
expect_output "background job" '\[[0-9]+\]' 'background started'
expect_output "free and ps" '[Ff]ree' 'PID|pid'
expect_no_output "the kernel never faults" 'kernel exception|crashed'

# ---- a pasted script longer than every input buffer (6 KB) arrives whole ---------------
# Each line appends 67 bytes to a file; all 80 ran when it holds 5360.
{ for i in $(seq -w 0 79); do echo "echo ok-$i-$(printf 'x%.0s' $(seq 60)) >> /tmp/p"; done
  echo 'ls -l /tmp/p'; echo poweroff; } | session 120
expect_status 0 "a long pasted script runs to its poweroff"
expect_output "every one of 80 pasted commands ran" ' 5360 /tmp/p$'

# ---- ^C ends the foreground job, not the shell (typed while `sleep 30` runs) -----------
start=$(date +%s)
{ printf 'sleep 30\n'; sleep 5; printf '\003'; printf 'echo after-interrupt $?\npoweroff\n'; } |
  session 60
took=$(( $(date +%s) - start ))
expect_status 0 "the shell survives ^C and powers off"
expect_output "^C interrupts the foreground job" 'after-interrupt 130'
[ "$took" -lt 25 ]
result $(( $? == 0 )) "the interrupted sleep did not run its 30 s (session took $took s)"

# ---- domains ------------------------------------------------------------------------
# ^] (0x1d) detaches from a domain's console; what the domU answers shows on the next
# attach (its console ring keeps it).
{ printf 'free\nhako create name=alpha\nhako create name=beta mem=8\nhako list\nsleep 3\n'
  printf 'hako console alpha\necho hello-from-alpha\nhako list\necho domu-hako $?\n\035'
  printf 'sleep 2\nhako console alpha\n\035'
  printf 'hako pause beta\nhako list\nhako unpause beta\nhako top -n 1\n'
  printf 'hako destroy alpha\nhako destroy beta\nhako list\n'
  printf 'hako destroy nosuch\necho destroy-status $?\nhako create /etc/rc\necho badimg $?\n'
  printf 'hako frob\necho usage $?\nfree\n'
  printf 'hako create name=gamma\nhako destroy gamma\nfree\npoweroff\n'; } > "$OUT.in"
session 300 < "$OUT.in"
rm -f "$OUT.in"
expect_status 0 "domain session ends with poweroff"
expect_output "hako create prints the new domains" 'created domain [0-9]+ \(alpha\)' \
  'created domain [0-9]+ \(beta\)'
expect_output "hako list shows both" '^[0-9]+ +alpha ' '^[0-9]+ +beta '
expect_output "the domU's own shell answers on its console" '^hello-from-alpha'
expect_output "pause shows in the list" 'beta +paused'
expect_output "destroyed domains leave the list" '\(hv\) d[0-9]+ \(alpha\) destroyed' \
  '\(hv\) d[0-9]+ \(beta\) destroyed'
expect_output "unknown domain is an error" 'no domain named nosuch' 'destroy-status 1'
expect_output "hako in a domU: not privileged" 'hako: not privileged' 'domu-hako 1'
expect_output "a bad image is an error" 'hako: bad image: /etc/rc' 'badimg 1'
expect_output "an unknown subcommand prints the usage, status 2" 'unknown command' 'usage 2'
# Memory comes back: dom0's own (after the first domains, whose page tables for the
# image and console windows stay) and the hypervisor's frames.
frees=$(grep -aE '^(hako\$ )*Mem:' "$OUT" | awk '{print $4}' | tail -2)
[ "$(echo "$frees" | wc -l)" = 2 ] && [ "$(echo "$frees" | sort -u | wc -l)" = 1 ]
result $(( $? == 0 )) "a create/destroy cycle leaves dom0's free memory as it was ($(echo $frees))"
line=$(grep -aE '^\(hv\) all domains destroyed' "$OUT")
[ -n "$line" ] && echo "$line" | grep -qE '; ([0-9]+) frames free \(\1 before'
result $(( $? == 0 )) "every hypervisor frame returns ($line)"
finish

/*
 * guest-pv/user/sh.c: the shell of the hako guest OS.
 *
 *   sh              commands from stdin, one line each; with a prompt when stdin is
 *                   the console or the shell is a login shell
 *   sh -l           a login shell: runs /etc/rc, prints /etc/motd, then as above
 *                   (also when argv[0] starts with '-' or is "init": the kernel starts
 *                   the first process as "/bin/sh" with argv {"sh", "-l"})
 *   sh -c 'line'    runs one command line and exits with its status
 *   sh FILE         runs the commands in FILE and exits with the last status
 *
 * A command line is pipelines separated by ';' (run in turn) or '&' (the one before it
 * runs in the background; "[pid]" is printed). A pipeline is commands joined by '|'; a
 * command is words with optional redirections '< file', '> file', '>> file'. Words may
 * be quoted: '...' literally, "..." with \" \\ \$ escapes and $ expansion; outside
 * quotes \ escapes the next character. $? is the status of the last foreground
 * pipeline (128 + signal when a signal ended it), $$ the shell's pid, $NAME an
 * environment variable. '#' at the start of a word begins a comment.
 *
 * Builtins: cd [dir], pwd, exit [n], jobs, wait. Other names run /bin/<name> (a name
 * with '/' is used as it is); a missing program gives status 127.
 *
 * Job control (when stdin is the console): every pipeline gets its own process group,
 * which becomes the console's foreground group while it runs, so ^C reaches it and not
 * the shell; an interactive shell ignores SIGINT, its children get the default action
 * back. Finished background jobs are reaped before each prompt ("[pid] done status").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hoslib.h"
#include "sh.h"

int last_status;                    /* $? (the lexer expands it) */
static int job_control;             /* stdin is the console: process groups and tcsetpgrp */
static pid_t shell_pgid;
static int script_fd = -1;          /* a script being read: not inherited by commands */
static struct job jobs[MAX_JOBS];

/* ============================ redirections and builtins ================================== */

/* Open cmd's redirections onto fds 0 and 1; 0, or -1 after a message. */
static int apply_redirections(const struct command *cmd)
{
    if (cmd->in_path) {
        int fd = open(cmd->in_path, O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "sh: %s: %s\n", cmd->in_path, strerror(errno));
            return -1;
        }
        if (fd != 0) {
            dup2(fd, 0);
            close(fd);
        }
    }
    if (cmd->out_path) {
        int flags = O_WRONLY | O_CREAT | (cmd->append ? O_APPEND : O_TRUNC);
        int fd = open(cmd->out_path, flags, 0644);
        if (fd < 0) {
            fprintf(stderr, "sh: %s: %s\n", cmd->out_path, strerror(errno));
            return -1;
        }
        if (fd != 1) {
            dup2(fd, 1);
            close(fd);
        }
    }
    return 0;
}

/* Exit status that a wait status stands for: the code, or 128 + the signal. */
static int status_code(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 1;
}

/* Note that background process pid ended with wait status wstatus; report a finished job. */
static void job_process_ended(pid_t pid, int wstatus)
{
    for (int j = 0; j < MAX_JOBS; j++) {
        struct job *job = &jobs[j];
        int remaining = 0, found = 0;
        if (!job->used)
            continue;
        for (int i = 0; i < job->npids; i++) {
            if (job->pids[i] == pid) {
                job->pids[i] = 0;
                found = 1;
            }
            remaining += job->pids[i] != 0;
        }
        if (!found)
            continue;
        if (pid == job->report_pid)
            job->status = status_code(wstatus);
        if (remaining == 0) {
            printf("[%d] done %d\n", (int)job->report_pid, job->status);
            job->used = 0;
        }
        return;
    }
}

/* Whether any background job is still running. */
static int jobs_running(void)
{
    for (int j = 0; j < MAX_JOBS; j++)
        if (jobs[j].used)
            return 1;
    return 0;
}

/* Reap children that have ended (background jobs, and orphans when the shell is init);
 * with wait_for_jobs, block until every background job has ended. */
static void reap_children(int wait_for_jobs)
{
    for (;;) {
        if (wait_for_jobs && !jobs_running())
            break;
        int wstatus;
        pid_t pid = waitpid(-1, &wstatus, wait_for_jobs ? 0 : WNOHANG);
        if (pid <= 0)
            break;
        job_process_ended(pid, wstatus);
    }
    fflush(stdout);
}

/* Whether name is a builtin command. */
static int is_builtin(const char *name)
{
    static const char *const names[] = { "cd", "pwd", "exit", "jobs", "wait" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* Run builtin argv[0] in the current process; returns its status (exit does not return). */
static int run_builtin(int argc, char **argv)
{
    const char *name = argv[0];
    if (strcmp(name, "cd") == 0) {
        const char *dir = argc > 1 ? argv[1] : getenv("HOME");
        if (chdir(dir ? dir : "/") < 0) {
            fprintf(stderr, "cd: %s: %s\n", dir ? dir : "/", strerror(errno));
            return 1;
        }
        return 0;
    }
    if (strcmp(name, "pwd") == 0) {
        char cwd[HOS_PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            fprintf(stderr, "pwd: %s\n", strerror(errno));
            return 1;
        }
        printf("%s\n", cwd);
        return 0;
    }
    if (strcmp(name, "exit") == 0) {
        fflush(NULL);
        exit(argc > 1 ? atoi(argv[1]) : last_status);
    }
    if (strcmp(name, "jobs") == 0) {
        for (int j = 0; j < MAX_JOBS; j++)
            if (jobs[j].used)
                printf("[%d] running\n", (int)jobs[j].report_pid);
        return 0;
    }
    reap_children(1);                    /* wait */
    return 0;
}

/* Run a builtin inside the shell with its redirections, restoring fds 0 and 1 after. */
static int run_builtin_here(struct command *cmd)
{
    fflush(stdout);
    int saved_in = dup(0), saved_out = dup(1);
    int status = apply_redirections(cmd) < 0 ? 1 : run_builtin(cmd->argc, cmd->argv);
    fflush(stdout);
    if (saved_in >= 0) {
        dup2(saved_in, 0);
        close(saved_in);
    }
    if (saved_out >= 0) {
        dup2(saved_out, 1);
        close(saved_out);
    }
    return status;
}

/* ============================ running pipelines ========================================== */

/* In a forked child: join process group pgid (0 = a new one), connect in_fd/out_fd to
 * stdin/stdout, apply redirections and run the command; never returns. */
static void run_child(struct command *cmd, pid_t pgid, int foreground, int in_fd, int out_fd,
                      int unused_fd)
{
    if (job_control) {
        setpgid(0, pgid);
        if (foreground)
            tcsetpgrp(0, pgid ? pgid : getpid());
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (in_fd >= 0) {
        dup2(in_fd, 0);
        close(in_fd);
    }
    if (out_fd >= 0) {
        dup2(out_fd, 1);
        close(out_fd);
    }
    if (unused_fd >= 0)
        close(unused_fd);
    if (script_fd >= 0)
        close(script_fd);
    if (apply_redirections(cmd) < 0)
        _exit(1);
    if (is_builtin(cmd->argv[0])) {
        int status = run_builtin(cmd->argc, cmd->argv);
        fflush(NULL);
        _exit(status);
    }
    char path[HOS_PATH_MAX];
    const char *name = cmd->argv[0];
    if (strchr(name, '/'))
        snprintf(path, sizeof path, "%s", name);
    else
        snprintf(path, sizeof path, "/bin/%s", name);
    execve(path, cmd->argv, environ);
    if (errno == ENOENT) {
        fprintf(stderr, "sh: %s: command not found\n", name);
        _exit(127);
    }
    fprintf(stderr, "sh: %s: %s\n", name, strerror(errno));
    _exit(126);
}

/* Wait for the foreground pipeline's processes; returns the last one's wait status. */
static int wait_foreground(const pid_t *pids, int n)
{
    int last = 0;
    for (int i = 0; i < n; i++) {
        int wstatus = 0;
        while (waitpid(pids[i], &wstatus, 0) < 0 && errno == EINTR)
            ;
        if (i == n - 1)
            last = wstatus;
    }
    return last;
}

/* Remember a started background pipeline and print "[pid]". */
static void add_job(const pid_t *pids, int n)
{
    printf("[%d]\n", (int)pids[n - 1]);
    for (int j = 0; j < MAX_JOBS; j++) {
        if (!jobs[j].used) {
            jobs[j] = (struct job){ .used = 1, .npids = n, .report_pid = pids[n - 1] };
            memcpy(jobs[j].pids, pids, (size_t)n * sizeof pids[0]);
            return;
        }
    }
    /* Table full: the job still runs; it is reaped silently. */
}

/* Start every command of pl; wait for a foreground pipeline; returns its status. */
static int run_pipeline(struct pipeline *pl)
{
    if (pl->ncmds == 1 && !pl->background && is_builtin(pl->cmds[0].argv[0]))
        return run_builtin_here(&pl->cmds[0]);

    pid_t pids[MAX_PIPE];
    pid_t pgid = 0;
    int started = 0, prev_read = -1, failed = 0;
    fflush(NULL);
    for (int i = 0; i < pl->ncmds; i++) {
        int fds[2] = { -1, -1 };
        if (i < pl->ncmds - 1 && pipe(fds) < 0) {
            fprintf(stderr, "sh: pipe: %s\n", strerror(errno));
            failed = 1;
            break;
        }
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "sh: fork: %s\n", strerror(errno));
            close(fds[0]);
            close(fds[1]);
            failed = 1;
            break;
        }
        if (pid == 0)
            run_child(&pl->cmds[i], pgid, !pl->background, prev_read, fds[1], fds[0]);
        if (pgid == 0)
            pgid = pid;
        if (job_control)
            setpgid(pid, pgid);          /* also here: whoever runs first wins the race */
        pids[started++] = pid;
        if (prev_read >= 0)
            close(prev_read);
        if (fds[1] >= 0)
            close(fds[1]);
        prev_read = fds[0];
    }
    if (prev_read >= 0)
        close(prev_read);
    if (started == 0)
        return 1;
    if (pl->background && !failed) {
        add_job(pids, started);
        return 0;
    }
    if (job_control)
        tcsetpgrp(0, pgid);
    int wstatus = wait_foreground(pids, started);
    if (job_control)
        tcsetpgrp(0, shell_pgid);
    if (failed)
        return 1;
    if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        if (sig == SIGINT)
            fprintf(stderr, "\n");
        else if (sig == SIGKILL)
            fprintf(stderr, "Killed\n");
        else if (sig == SIGTERM)
            fprintf(stderr, "Terminated\n");
        else
            fprintf(stderr, "ended by signal %d\n", sig);
    }
    return status_code(wstatus);
}

/* Run every pipeline of one command line, in order. */
static void run_line(const char *line)
{
    static struct token toks[MAX_TOKENS];
    static char words[WORD_BYTES];
    struct pipeline pl;
    const char *cursor = line;
    while (*cursor) {
        int n = lex_pipeline(&cursor, toks, words);
        int ready = n > 0 ? parse_pipeline(toks, n, &pl) : -1;
        if (ready < 0) {
            last_status = 2;
            return;
        }
        if (ready > 0)
            last_status = run_pipeline(&pl);
    }
}

/* ============================ input ====================================================== */

struct line_reader {
    int fd;
    char buf[LINE_BYTES];
    size_t start, len;                   /* unread bytes: buf[start, len) */
    int eof;
};

/* Read the next line (without its newline) into out; 0 at the end of the input. */
static int read_line(struct line_reader *r, char *out, size_t size)
{
    for (;;) {
        char *nl = memchr(r->buf + r->start, '\n', r->len - r->start);
        size_t avail = r->len - r->start;
        if (nl || r->eof || avail == sizeof r->buf) {
            size_t n = nl ? (size_t)(nl - (r->buf + r->start)) : avail;
            if (!nl && n == 0)
                return 0;                /* end of input */
            if (n >= size)
                n = size - 1;
            memcpy(out, r->buf + r->start, n);
            out[n] = '\0';
            r->start += nl ? (size_t)(nl - (r->buf + r->start)) + 1 : n;
            return 1;
        }
        memmove(r->buf, r->buf + r->start, avail);
        r->start = 0;
        r->len = avail;
        ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            r->eof = 1;
        else
            r->len += (size_t)got;
    }
}

/* The prompt: "hako$ " on dom0, "<nodename>$ " in other domains. */
static const char *prompt_text(void)
{
    static char prompt[48];
    struct hos_utsname uts;
    if (uname(&uts) < 0 || strcmp(uts.nodename, "dom0") == 0 || uts.nodename[0] == '\0')
        return "hako$ ";
    snprintf(prompt, sizeof prompt, "%.31s$ ", uts.nodename);
    return prompt;
}

/* Run every line read from fd; with a prompt before each line when interactive. */
static void run_input(int fd, int interactive)
{
    static struct line_reader reader;
    static char line[LINE_BYTES];
    const char *prompt = interactive ? prompt_text() : NULL;
    memset(&reader, 0, sizeof reader);
    reader.fd = fd;
    for (;;) {
        if (interactive) {
            reap_children(0);
            fputs(prompt, stdout);
            fflush(stdout);
        }
        if (!read_line(&reader, line, sizeof line)) {
            if (interactive)
                fputs("\n", stdout);
            break;
        }
        run_line(line);
    }
}

/* Run the commands in file path; returns -1 when it cannot be opened. */
static int run_script(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int outer = script_fd;
    script_fd = fd;
    run_input(fd, 0);
    script_fd = outer;
    close(fd);
    return 0;
}

/* Copy file path to stdout if it exists (the message of the day). */
static void print_file(const char *path)
{
    char buf[512];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    fflush(stdout);
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        write(1, buf, (size_t)n);
    close(fd);
}

/* Start as a login shell, run -c or a script, or read commands from stdin. */
int main(int argc, char **argv)
{
    const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
    base = base ? base + 1 : (argc > 0 ? argv[0] : "sh");
    int login = base[0] == '-' || strcmp(base, "init") == 0;
    int arg = 1;
    const char *command = NULL;
    for (; arg < argc && argv[arg][0] == '-' && argv[arg][1]; arg++) {
        if (strcmp(argv[arg], "-l") == 0)
            login = 1;
        else if (strcmp(argv[arg], "-c") == 0 && arg + 1 < argc)
            command = argv[++arg];
        else {
            fprintf(stderr, "usage: sh [-l] [-c line | file]\n");
            return 2;
        }
    }
    if (command) {
        run_line(command);
        return last_status;
    }
    if (arg < argc) {
        if (run_script(argv[arg]) < 0) {
            fprintf(stderr, "sh: %s: %s\n", argv[arg], strerror(errno));
            return 127;
        }
        return last_status;
    }

    signal(SIGINT, SIG_IGN);             /* ^C is for the foreground job */
    job_control = isatty(0);
    if (job_control) {
        setpgid(0, 0);
        shell_pgid = getpgid(0);
        tcsetpgrp(0, shell_pgid);
    }
    if (login) {
        if (!getenv("HOME"))
            setenv("HOME", "/", 1);
        run_script("/etc/rc");
        print_file("/etc/motd");
    }
    run_input(0, login || job_control);
    fflush(stdout);
    return last_status;
}

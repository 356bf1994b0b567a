/*
 * guest-pv/user/sh.h: the shell's command-line structures, shared by its lexer and
 * parser (sh_parse.c) and the part that runs commands (sh.c).
 */
#ifndef SH_H
#define SH_H

#include <sys/types.h>

#define LINE_BYTES   1024           /* longest command line */
#define WORD_BYTES   (4 * LINE_BYTES) /* room for all words of one pipeline, expanded */
#define MAX_TOKENS   128
#define MAX_ARGS     64
#define MAX_PIPE     8              /* commands in one pipeline */
#define MAX_JOBS     16             /* background jobs at once */

extern char **environ;

enum token_kind { TOK_WORD, TOK_PIPE, TOK_IN, TOK_OUT, TOK_APPEND, TOK_AMP, TOK_SEMI, TOK_END };

struct token {
    enum token_kind kind;
    char *text;                     /* TOK_WORD only */
};

struct command {
    char *argv[MAX_ARGS + 1];
    int argc;
    const char *in_path;            /* < file, or NULL */
    const char *out_path;           /* > or >> file, or NULL */
    int append;                     /* out_path was given with >> */
};

struct pipeline {
    struct command cmds[MAX_PIPE];
    int ncmds;
    int background;
};

struct job {
    int used;
    pid_t pids[MAX_PIPE];           /* 0 once reaped */
    int npids;
    pid_t report_pid;               /* the pid printed as [pid]: the last command's */
    int status;                     /* the last command's status, once it ended */
};

/* $? : the status of the last foreground pipeline (sh.c; the lexer expands it). */
extern int last_status;

/* Cut the next pipeline of the line at *cursor into toks (words copied into `words`,
 * WORD_BYTES), up to and including its ';', '&' or the end; advances *cursor. The
 * number of tokens, or -1 after reporting a syntax error. */
int lex_pipeline(const char **cursor, struct token *toks, char *words);

/* Build *pl from n tokens; 0 when it is empty (nothing to run), 1 when ready, -1 on
 * error (reported). */
int parse_pipeline(struct token *toks, int n, struct pipeline *pl);

#endif /* SH_H */

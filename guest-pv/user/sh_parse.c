/*
 * guest-pv/user/sh_parse.c: the shell's lexer and parser: words, quotes, $ expansion,
 * pipes, redirections, ';' and '&' (the syntax is described in sh.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sh.h"

/* ============================ lexing ===================================================== */

/* Append byte c to the word buffer at *out (bounded by end); 0 or -1 when it is full. */
static int put_char(char **out, char *end, char c)
{
    if (*out >= end)
        return -1;
    *(*out)++ = c;
    return 0;
}

/* Append string s to the word buffer. */
static int put_str(char **out, char *end, const char *s)
{
    while (*s)
        if (put_char(out, end, *s++) < 0)
            return -1;
    return 0;
}

/* Expand the $ item at *in (pointing after the '$') into the word; advances *in. */
static int expand_dollar(const char **in, char **out, char *end)
{
    char number[16];
    const char *p = *in;
    if (*p == '?' || *p == '$') {
        snprintf(number, sizeof number, "%d", *p == '?' ? last_status : (int)getpid());
        *in = p + 1;
        return put_str(out, end, number);
    }
    char name[64];
    size_t n = 0;
    while ((*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (n > 0 && *p >= '0' && *p <= '9')) && n < sizeof name - 1)
        name[n++] = *p++;
    name[n] = '\0';
    if (n == 0)                      /* a lone '$' stays */
        return put_char(out, end, '$');
    *in = p;
    const char *value = getenv(name);
    return value ? put_str(out, end, value) : 0;
}

/* Whether c ends an unquoted word. */
static int is_word_end(char c)
{
    return c == '\0' || c == ' ' || c == '\t' || c == '|' || c == '<' || c == '>' ||
           c == '&' || c == ';';
}

/* Read one word starting at *in into the buffer (quotes removed, $ expanded). */
static int lex_word(const char **in, char **out, char *end)
{
    const char *p = *in;
    while (!is_word_end(*p)) {
        int err = 0;
        if (*p == '\'') {
            for (p++; *p && *p != '\''; p++)
                err |= put_char(out, end, *p);
            if (*p != '\'') {
                fprintf(stderr, "sh: missing '\n");
                return -1;
            }
            p++;
        } else if (*p == '"') {
            for (p++; *p && *p != '"';) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$')) {
                    err |= put_char(out, end, p[1]);
                    p += 2;
                } else if (*p == '$') {
                    p++;
                    err |= expand_dollar(&p, out, end);
                } else {
                    err |= put_char(out, end, *p++);
                }
            }
            if (*p != '"') {
                fprintf(stderr, "sh: missing \"\n");
                return -1;
            }
            p++;
        } else if (*p == '\\') {
            if (p[1])
                p++;
            err |= put_char(out, end, *p++);
        } else if (*p == '$') {
            p++;
            err |= expand_dollar(&p, out, end);
        } else {
            err |= put_char(out, end, *p++);
        }
        if (err) {
            fprintf(stderr, "sh: command line too long\n");
            return -1;
        }
    }
    *in = p;
    return put_char(out, end, '\0');
}

/* Split the next pipeline of the line at *cursor into tokens (up to and including the
 * ';', '&' or end that closes it) and advance *cursor past it; returns the number of
 * tokens, -1 on a syntax error. Words are expanded now, so $? sees earlier pipelines. */
int lex_pipeline(const char **cursor, struct token *toks, char *words)
{
    const char *p = *cursor;
    char *out = words, *end = words + WORD_BYTES;
    int n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (n == MAX_TOKENS - 1) {
            fprintf(stderr, "sh: too many words\n");
            return -1;
        }
        struct token *t = &toks[n++];
        t->text = NULL;
        if (*p == '\0' || *p == '#') {
            t->kind = TOK_END;
            p += strlen(p);
            break;
        }
        if (*p == ';' || *p == '&') {
            t->kind = *p++ == ';' ? TOK_SEMI : TOK_AMP;
            break;
        }
        if (*p == '|') {
            t->kind = TOK_PIPE;
            p++;
        } else if (*p == '<') {
            t->kind = TOK_IN;
            p++;
        } else if (*p == '>') {
            t->kind = p[1] == '>' ? TOK_APPEND : TOK_OUT;
            p += p[1] == '>' ? 2 : 1;
        } else {
            t->kind = TOK_WORD;
            t->text = out;
            if (lex_word(&p, &out, end) < 0)
                return -1;
        }
    }
    *cursor = p;
    return n;
}

/* ============================ parsing ==================================================== */

/* Build *pl from tokens; 0 when it is empty (nothing to run), 1 when ready, -1 on error. */
int parse_pipeline(struct token *toks, int n, struct pipeline *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->background = toks[n - 1].kind == TOK_AMP;
    if (n == 1 && pl->background) {
        fprintf(stderr, "sh: syntax error near '&'\n");
        return -1;
    }
    if (n == 1)                          /* just the terminator: an empty command */
        return 0;
    struct command *cmd = &pl->cmds[0];
    pl->ncmds = 1;
    for (int i = 0; i < n - 1; i++) {
        struct token *t = &toks[i];
        switch (t->kind) {
        case TOK_WORD:
            if (cmd->argc == MAX_ARGS) {
                fprintf(stderr, "sh: too many arguments\n");
                return -1;
            }
            cmd->argv[cmd->argc++] = t->text;
            break;
        case TOK_IN:
        case TOK_OUT:
        case TOK_APPEND:
            if (toks[i + 1].kind != TOK_WORD) {
                fprintf(stderr, "sh: syntax error: a redirection needs a file name\n");
                return -1;
            }
            if (t->kind == TOK_IN)
                cmd->in_path = toks[i + 1].text;
            else {
                cmd->out_path = toks[i + 1].text;
                cmd->append = t->kind == TOK_APPEND;
            }
            i++;
            break;
        case TOK_PIPE:
            if (cmd->argc == 0 || pl->ncmds == MAX_PIPE) {
                fprintf(stderr, cmd->argc ? "sh: pipeline too long\n"
                                          : "sh: syntax error near '|'\n");
                return -1;
            }
            cmd = &pl->cmds[pl->ncmds++];
            break;
        default:
            return -1;
        }
    }
    if (cmd->argc == 0) {
        fprintf(stderr, "sh: syntax error: missing command\n");
        return -1;
    }
    return 1;
}

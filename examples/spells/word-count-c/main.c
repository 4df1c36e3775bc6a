/* word-count-c: reads {"text": "..."} on stdin, prints {"lines":L,"words":W,"chars":C} on stdout.
 * Plain C and wasi-libc, no JSON library: it finds the "text" string and decodes its escapes. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (2 * 1024 * 1024)

static int fail(const char *why) {
    fprintf(stderr, "word-count: %s\n", why);
    return 2;
}

/* Decode one JSON string starting after its opening quote; returns the next unread position. */
static const char *count_string(const char *p, long *lines, long *words, long *chars) {
    int in_word = 0;
    while (*p && *p != '"') {
        unsigned char c = (unsigned char)*p++;
        if (c == '\\') {
            char e = *p++;
            if (e == 'n') c = '\n';
            else if (e == 't') c = '\t';
            else if (e == 'r') c = '\r';
            else if (e == 'u') { c = 'u'; for (int i = 0; i < 4 && *p; i++) p++; }
            else if (e == '\0') return NULL;
            else c = (unsigned char)e;
        }
        if ((c & 0xC0) != 0x80) (*chars)++; /* count UTF-8 code points, not bytes */
        if (c == '\n') (*lines)++;
        if (isspace(c)) in_word = 0;
        else if (!in_word) { in_word = 1; (*words)++; }
    }
    return *p == '"' ? p + 1 : NULL;
}

int main(void) {
    char *buf = malloc(MAX_INPUT + 1);
    if (!buf) return fail("out of memory");
    size_t n = fread(buf, 1, MAX_INPUT, stdin);
    buf[n] = '\0';
    const char *key = strstr(buf, "\"text\"");
    if (!key) return fail("input has no \"text\"");
    const char *p = key + 6;
    while (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (*p != '"') return fail("\"text\" is not a string");
    long lines = 0, words = 0, chars = 0;
    if (!count_string(p + 1, &lines, &words, &chars)) return fail("unterminated string");
    printf("{\"lines\":%ld,\"words\":%ld,\"chars\":%ld}\n", lines, words, chars);
    free(buf);
    return 0;
}

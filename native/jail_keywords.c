/* The secret scanner's keyword prefilter: which keywords occur in a text.
 *
 * An Aho-Corasick automaton, built once per catalogue, compiled to a full DFA
 * over byte classes (the bytes that occur in keywords, case-folded, plus one
 * class for every other byte), so a scan is one table lookup per byte and
 * needs no lower-cased copy of the text. Keywords are lower-case ASCII. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jail_keywords.h"

struct jl_keywords {
    uint8_t class_of[256];
    uint32_t nclasses;
    uint32_t nstates;
    uint32_t *next;    /* nstates * nclasses */
    int32_t *word_at;  /* the keyword ending at this state, or -1 */
    int32_t *report;   /* the next state on the suffix chain that ends a keyword, or -1 */
    size_t nwords;
};

static uint8_t fold(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

void jl_kw_free(struct jl_keywords *kw)
{
    if (!kw)
        return;
    free(kw->next);
    free(kw->word_at);
    free(kw->report);
    free(kw);
}

struct jl_keywords *jl_kw_new(const char *const *words, size_t nwords)
{
    struct jl_keywords *kw = calloc(1, sizeof(*kw));
    if (!kw)
        return NULL;
    kw->nwords = nwords;
    /* Byte classes: class 0 is "a byte no keyword has". */
    uint32_t nclasses = 1;
    size_t total = 1;
    for (size_t w = 0; w < nwords; w++) {
        for (const uint8_t *p = (const uint8_t *)words[w]; *p; p++) {
            uint8_t c = fold(*p);
            if (!kw->class_of[c])
                kw->class_of[c] = (uint8_t)nclasses++;
            total++;
        }
    }
    if (nclasses > 255) {
        free(kw);
        errno = EINVAL;
        return NULL;
    }
    for (int c = 'A'; c <= 'Z'; c++)
        kw->class_of[c] = kw->class_of[c + 32];
    kw->nclasses = nclasses;
    kw->next = calloc(total * nclasses, sizeof(uint32_t));
    kw->word_at = malloc(total * sizeof(int32_t));
    kw->report = malloc(total * sizeof(int32_t));
    uint32_t *fail = calloc(total, sizeof(uint32_t));
    uint32_t *queue = malloc(total * sizeof(uint32_t));
    if (!kw->next || !kw->word_at || !kw->report || !fail || !queue) {
        free(fail);
        free(queue);
        jl_kw_free(kw);
        errno = ENOMEM;
        return NULL;
    }
    /* The trie: next[] holds trie edges (0 = none; state 0 is the root). */
    uint32_t nstates = 1;
    kw->word_at[0] = -1;
    for (size_t w = 0; w < nwords; w++) {
        uint32_t s = 0;
        for (const uint8_t *p = (const uint8_t *)words[w]; *p; p++) {
            uint32_t *edge = &kw->next[s * nclasses + kw->class_of[fold(*p)]];
            if (!*edge) {
                kw->word_at[nstates] = -1;
                *edge = nstates++;
            }
            s = *edge;
        }
        if (s)
            kw->word_at[s] = (int32_t)w;
    }
    kw->nstates = nstates;
    /* Breadth first: failure links, then the missing edges become DFA edges. */
    size_t head = 0, tail = 0;
    kw->report[0] = -1;
    for (uint32_t c = 0; c < nclasses; c++) {
        uint32_t t = kw->next[c];
        if (t) {
            fail[t] = 0;
            queue[tail++] = t;
        }
    }
    while (head < tail) {
        uint32_t s = queue[head++];
        uint32_t f = fail[s];
        kw->report[s] = kw->word_at[f] >= 0 ? (int32_t)f : kw->report[f];
        for (uint32_t c = 0; c < nclasses; c++) {
            uint32_t *edge = &kw->next[s * nclasses + c];
            if (*edge) {
                fail[*edge] = kw->next[f * nclasses + c];
                queue[tail++] = *edge;
            } else {
                *edge = kw->next[f * nclasses + c];
            }
        }
    }
    free(fail);
    free(queue);
    return kw;
}

/* Set found[w] = 1 for every keyword w that occurs in text; the number of
 * distinct keywords found. */
int64_t jl_kw_scan(const struct jl_keywords *kw, const uint8_t *text, size_t len, uint8_t *found)
{
    int64_t count = 0;
    uint32_t s = 0;
    const uint32_t nclasses = kw->nclasses;
    for (size_t i = 0; i < len; i++) {
        s = kw->next[s * nclasses + kw->class_of[text[i]]];
        if (kw->word_at[s] < 0 && kw->report[s] < 0)
            continue;
        for (int32_t t = kw->word_at[s] >= 0 ? (int32_t)s : kw->report[s]; t >= 0; t = kw->report[t]) {
            int32_t w = kw->word_at[t];
            if (!found[w]) {
                found[w] = 1;
                count++;
            }
        }
    }
    return count;
}

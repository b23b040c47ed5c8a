/* Keyword prefilter of the secret scanner (jail_keywords.c). */
typedef struct jl_keywords jl_keywords;
struct jl_keywords *jl_kw_new(const char *const *words, size_t nwords);
void jl_kw_free(struct jl_keywords *kw);
int64_t jl_kw_scan(const struct jl_keywords *kw, const uint8_t *text, size_t len, uint8_t *found);

/*
 * guest-pv/kernel/kmalloc.c: the kernel heap.
 *
 * Everything comes from whole pages of pfn_alloc(). Requests up to SLAB_MAX bytes are
 * served from power-of-two slabs: a page whose first bytes are a `struct slab` header
 * and whose remainder is cut into equal objects, free ones chained through their first
 * word. Larger requests (up to one page) get a page of their own; they are recognised
 * in kfree() by being page-aligned (slab objects never are: the header is at offset 0).
 * Pages are not virtually contiguous across pfns, so nothing is larger than one page.
 *
 * A slab page that becomes completely free goes straight back to pfn_free(), so the
 * heap holds no idle pages and a free-page count before/after is an exact leak check.
 */
#include "kern.h"
#include "klib.h"
#include "mm.h"

#if defined(HAKO_HOST_TEST) && defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define HEAP_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define HEAP_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define HEAP_POISON(p, n)   ((void)(p), (void)(n))
#define HEAP_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define SLAB_MIN_SHIFT 4                      /* 16-byte objects */
#define SLAB_MAX_SHIFT 10                     /* 1024-byte objects */
#define SLAB_MAX       (1ul << SLAB_MAX_SHIFT)
#define SLAB_CLASSES   (SLAB_MAX_SHIFT - SLAB_MIN_SHIFT + 1)
#define SLAB_HEADER    64ul                   /* objects start here: 16-byte aligned */
#define SLAB_MAGIC     0x51ab51abu

struct slab {
    uint32_t magic;
    uint16_t obj_size;
    uint16_t nfree;                /* free objects in this page */
    uint16_t total;                /* objects in this page */
    uint16_t on_partial;           /* linked on its class's partial list */
    void *free_list;               /* first free object */
    struct slab *prev, *next;      /* partial list (pages with a free object) */
};

_Static_assert(sizeof(struct slab) <= SLAB_HEADER, "slab header too big");

static struct slab *partial[SLAB_CLASSES];
static uint64_t heap_pages;

/* The pfn whose linear-map page holds va. */
static uint64_t va_to_pfn(const void *va)
{
    return ((uintptr_t)va - (uintptr_t)pfn_to_va(0)) / PAGE_SIZE;
}

/* Size class index for a request of n bytes (n <= SLAB_MAX). */
static unsigned size_class(size_t n)
{
    unsigned c = 0;
    while ((1ul << (c + SLAB_MIN_SHIFT)) < n)
        c++;
    return c;
}

/* Put slab s at the head of its class's partial list. */
static void partial_push(unsigned c, struct slab *s)
{
    s->prev = NULL;
    s->next = partial[c];
    if (partial[c])
        partial[c]->prev = s;
    partial[c] = s;
    s->on_partial = 1;
}

/* Take slab s off its class's partial list. */
static void partial_remove(unsigned c, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        partial[c] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    s->on_partial = 0;
}

/* A fresh slab page for class c, linked on the partial list; NULL when out of memory. */
static struct slab *slab_new(unsigned c)
{
    uint64_t pfn = pfn_alloc();
    if (!pfn)
        return NULL;
    heap_pages++;
    char *page = pfn_to_va(pfn);
    struct slab *s = (struct slab *)page;
    size_t size = 1ul << (c + SLAB_MIN_SHIFT);
    s->magic = SLAB_MAGIC;
    s->obj_size = (uint16_t)size;
    s->total = (uint16_t)((PAGE_SIZE - SLAB_HEADER) / size);
    s->nfree = s->total;
    s->free_list = NULL;
    /* Chain the objects so the lowest address is handed out first. */
    for (size_t i = s->total; i-- > 0;) {
        void **obj = (void **)(page + SLAB_HEADER + i * size);
        *obj = s->free_list;
        s->free_list = obj;
    }
    HEAP_POISON(page + SLAB_HEADER, PAGE_SIZE - SLAB_HEADER);
    partial_push(c, s);
    return s;
}

/* Zeroed memory for n bytes (16-byte aligned, n <= one page); NULL when out of memory. */
void *kmalloc(size_t n)
{
    if (n == 0)
        n = 1;
    if (n > PAGE_SIZE)
        return NULL;
    if (n > SLAB_MAX) {
        uint64_t pfn = pfn_alloc();
        if (!pfn)
            return NULL;
        heap_pages++;
        return pfn_to_va(pfn);        /* pfn_alloc pages are zeroed */
    }
    unsigned c = size_class(n);
    struct slab *s = partial[c];
    if (!s && !(s = slab_new(c)))
        return NULL;
    void **obj = s->free_list;
    HEAP_UNPOISON(obj, s->obj_size);
    s->free_list = *obj;
    if (--s->nfree == 0)
        partial_remove(c, s);
    memset(obj, 0, s->obj_size);
    return obj;
}

/* Return p (from kmalloc) to the heap; NULL is ignored. */
void kfree(void *p)
{
    if (!p)
        return;
    uintptr_t va = (uintptr_t)p;
    if ((va & (PAGE_SIZE - 1)) == 0) {        /* a whole-page allocation */
        heap_pages--;
        pfn_free(va_to_pfn(p));
        return;
    }
    struct slab *s = (struct slab *)(va & ~(PAGE_SIZE - 1));
    if (s->magic != SLAB_MAGIC || va - (uintptr_t)s < SLAB_HEADER ||
        (va - (uintptr_t)s - SLAB_HEADER) % s->obj_size != 0)
        return;                               /* not ours: refuse rather than corrupt */
    unsigned c = size_class(s->obj_size);
    *(void **)p = s->free_list;
    s->free_list = p;
    HEAP_POISON(p, s->obj_size);
    s->nfree++;
    if (s->nfree == s->total) {               /* empty: give the page back */
        if (s->on_partial)
            partial_remove(c, s);
        s->magic = 0;
        heap_pages--;
        pfn_free(va_to_pfn(s));
    } else if (!s->on_partial) {
        partial_push(c, s);
    }
}

/* Pages the heap holds now. */
uint64_t kmalloc_pages(void)
{
    return heap_pages;
}

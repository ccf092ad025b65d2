/*
 * doc.c — one document written twice as it is built: Markdown (report.md, what a
 * person opens in a repository browser) and a standalone HTML page (report.html, for a web
 * browser, with the SVG pictures). Only the little markup the report needs: headings,
 * paragraphs with **bold**, `code` and [links](...), warnings, lists, code, tables, pictures.
 */
#define _GNU_SOURCE /* vasprintf */
#include "jb_report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "jb_results.h"

static const char *const css = "body{font-family:sans-serif;max-width:70em;margin:2em auto;"
                               "padding:0 1em;line-height:1.45;color:#222}"
                               "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
                               "th,td{border:1px solid #ccc;padding:.25em .6em}"
                               "th{background:#f3f3f3}td.r{text-align:right}"
                               "code,pre{background:#f6f6f6;font-size:90%}pre{padding:.6em;"
                               "overflow-x:auto}.warn{border-left:.4em solid #c00;"
                               "background:#fff3f3;padding:.5em 1em}img{max-width:100%}"
                               "figure{margin:1em 0}figcaption{font-size:90%;color:#555}";

/* ==== HTML text ============================================================================== */

static void html_escape(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++)
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(s[i], f);
        }
}

/* [text](link) starting at s: lengths of text and link, or false. */
static bool link_at(const char *s, size_t *text_len, const char **link, size_t *link_len)
{
    const char *close = strchr(s + 1, ']');
    if (s[0] != '[' || !close || close[1] != '(' || memchr(s + 1, '\n', (size_t)(close - s)))
        return false;
    const char *end = strchr(close + 2, ')');
    if (!end)
        return false;
    *text_len = (size_t)(close - s - 1);
    *link = close + 2;
    *link_len = (size_t)(end - close - 2);
    return true;
}

/* Inline markup to HTML: **bold**, `code`, [text](link); the rest escaped. */
static void html_inline(FILE *f, const char *s)
{
    bool bold = false, code = false;
    while (*s) {
        size_t tl, ll;
        const char *link;
        if (*s == '`') {
            fputs(code ? "</code>" : "<code>", f);
            code = !code;
            s++;
        } else if (!code && s[0] == '*' && s[1] == '*') {
            fputs(bold ? "</strong>" : "<strong>", f);
            bold = !bold;
            s += 2;
        } else if (!code && link_at(s, &tl, &link, &ll)) {
            fputs("<a href=\"", f);
            html_escape(f, link, ll);
            fputs("\">", f);
            html_escape(f, s + 1, tl);
            fputs("</a>", f);
            s = link + ll + 1;
        } else {
            html_escape(f, s, 1);
            s++;
        }
    }
    if (code)
        fputs("</code>", f);
    if (bold)
        fputs("</strong>", f);
}

/* ==== blocks ================================================================================= */

static void end_list(struct jb_doc *d)
{
    if (d->in_list) {
        fputs("\n", d->md);
        fputs("</ul>\n", d->html);
        d->in_list = false;
    }
}

int jb_doc_open(struct jb_doc *d, const char *title, struct jb_err *err)
{
    memset(d, 0, sizeof *d);
    d->md = open_memstream(&d->md_buf, &d->md_len);
    d->html = open_memstream(&d->html_buf, &d->html_len);
    if (!d->md || !d->html) {
        jb_doc_free(d);
        return jb_fail(err, JB_ENOMEM, "out of memory");
    }
    fprintf(d->html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>");
    html_escape(d->html, title, strlen(title));
    fprintf(d->html, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
    jb_doc_heading(d, 1, title);
    return 0;
}

void jb_doc_heading(struct jb_doc *d, int level, const char *text)
{
    end_list(d);
    fprintf(d->md, "%.*s %s\n\n", level, "######", text);
    fprintf(d->html, "<h%d>", level);
    html_inline(d->html, text);
    fprintf(d->html, "</h%d>\n", level);
}

static void vpara(struct jb_doc *d, const char *md_prefix, const char *html_open,
    const char *html_close, const char *fmt, va_list ap)
{
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        return;
    fprintf(d->md, "%s%s\n", md_prefix, text);
    fputs(html_open, d->html);
    html_inline(d->html, text);
    fputs(html_close, d->html);
    free(text);
}

void jb_doc_para(struct jb_doc *d, const char *fmt, ...)
{
    va_list ap;
    end_list(d);
    va_start(ap, fmt);
    vpara(d, "", "<p>", "</p>\n", fmt, ap);
    va_end(ap);
    fputc('\n', d->md);
}

void jb_doc_warning(struct jb_doc *d, const char *fmt, ...)
{
    va_list ap;
    end_list(d);
    va_start(ap, fmt);
    vpara(d, "> ⚠️ ", "<p class=\"warn\">⚠️ ", "</p>\n", fmt, ap);
    va_end(ap);
    fputc('\n', d->md);
}

void jb_doc_item(struct jb_doc *d, const char *fmt, ...)
{
    va_list ap;
    if (!d->in_list)
        fputs("<ul>\n", d->html);
    d->in_list = true;
    va_start(ap, fmt);
    vpara(d, "- ", "<li>", "</li>\n", fmt, ap);
    va_end(ap);
}

void jb_doc_code(struct jb_doc *d, const char *text)
{
    end_list(d);
    fprintf(d->md, "```\n%s%s```\n\n", text, text[strlen(text) - 1] == '\n' ? "" : "\n");
    fputs("<pre>", d->html);
    html_escape(d->html, text, strlen(text));
    fputs("</pre>\n", d->html);
}

/* A Markdown table cell: a '|' would end it and a line break would end the row. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

void jb_doc_table(struct jb_doc *d, const char *const *head, const char *align, size_t n_cols,
    char *const *cells, size_t n_rows)
{
    end_list(d);
    fputs("<table>\n<tr>", d->html);
    for (size_t c = 0; c < n_cols; c++) {
        fputs("| ", d->md);
        md_cell(d->md, head[c]);
        fputc(' ', d->md);
        fputs("<th>", d->html);
        html_inline(d->html, head[c]);
        fputs("</th>", d->html);
    }
    fputs("|\n", d->md);
    fputs("</tr>\n", d->html);
    for (size_t c = 0; c < n_cols; c++)
        fputs(align[c] == 'r' ? "|---:" : "|---", d->md);
    fputs("|\n", d->md);
    for (size_t r = 0; r < n_rows; r++) {
        fputs("<tr>", d->html);
        for (size_t c = 0; c < n_cols; c++) {
            const char *s = cells[r * n_cols + c];
            fputs("| ", d->md);
            md_cell(d->md, s);
            fputc(' ', d->md);
            fputs(align[c] == 'r' ? "<td class=\"r\">" : "<td>", d->html);
            html_inline(d->html, s);
            fputs("</td>", d->html);
        }
        fputs("|\n", d->md);
        fputs("</tr>\n", d->html);
    }
    fputs("\n", d->md);
    fputs("</table>\n", d->html);
}

void jb_doc_image(struct jb_doc *d, const char *png, const char *svg, const char *alt)
{
    end_list(d);
    fprintf(d->md, "![%s](%s)\n\n", alt, png);
    fputs("<figure><img src=\"", d->html);
    html_escape(d->html, svg, strlen(svg));
    fputs("\" alt=\"", d->html);
    html_escape(d->html, alt, strlen(alt));
    fputs("\"><figcaption>", d->html);
    html_escape(d->html, alt, strlen(alt));
    fputs(" (<a href=\"", d->html);
    html_escape(d->html, png, strlen(png));
    fputs("\">PNG</a>)</figcaption></figure>\n", d->html);
}

/* ==== saving ================================================================================= */

struct buffer {
    const char *p;
    size_t n;
};

static int write_buffer(FILE *f, void *ctx)
{
    const struct buffer *b = ctx;
    return fwrite(b->p, 1, b->n, f) == b->n ? 0 : JB_EIO;
}

int jb_doc_save(struct jb_doc *d, const char *md_path, const char *html_path, struct jb_err *err)
{
    end_list(d);
    fputs("</body>\n</html>\n", d->html);
    const bool bad = fclose(d->md) != 0 || fclose(d->html) != 0;
    d->md = d->html = NULL;
    int rc = bad ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    struct buffer md = { d->md_buf, d->md_len }, html = { d->html_buf, d->html_len };
    if (!rc)
        rc = jb_write_atomic(md_path, write_buffer, &md, err);
    if (!rc && html_path)
        rc = jb_write_atomic(html_path, write_buffer, &html, err);
    jb_doc_free(d);
    return rc;
}

void jb_doc_free(struct jb_doc *d)
{
    if (d->md)
        fclose(d->md);
    if (d->html)
        fclose(d->html);
    free(d->md_buf);
    free(d->html_buf);
    memset(d, 0, sizeof *d);
}

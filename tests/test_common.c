/*
 * test_common.c — the base layer's file helpers: a whole file read exactly (across buffer
 * growth), its size limit and missing file as errors naming the path, a one-line read cut at
 * its line end, inputs that are not regular files refused without blocking, and mkdir -p with
 * its two message forms.
 */
#include "jb_test.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_file.h"

static char g_dir[4096];

static void test_read_file(void **state)
{
    (void)state;
    char *big = malloc(10001), *text = NULL;
    size_t len = 0;
    struct jb_err err = { 0 };
    assert_non_null(big);
    for (int i = 0; i < 10000; i++)
        big[i] = (char)('a' + i % 26);
    big[10000] = '\0';
    const char *path = jb_test_write(g_dir, "big.txt", big);
    assert_int_equal(jb_read_file(path, 10000, &text, &len, &err), 0); /* exactly at the limit */
    assert_int_equal(len, 10000);
    assert_string_equal(text, big);
    free(text);
    assert_int_equal(jb_read_file(path, 9999, &text, &len, &err), JB_ERANGE);
    assert_null(text);
    assert_non_null(strstr(err.msg, "big.txt: larger than 9999 bytes"));
    path = jb_test_write(g_dir, "empty.txt", "");
    assert_int_equal(jb_read_file(path, 10, &text, NULL, &err), 0);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(jb_read_file("/nonexistent/x.json", 10, &text, NULL, &err), JB_ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/x.json: cannot open"));
    free(big);
}

/* Input that is not a regular file is refused at once (a FIFO would block open() and read(),
 * /dev/zero would never end), naming the kind; permission and link loops keep their reason. */
static void test_input_kinds(void **state)
{
    (void)state;
    char fifo[4200], loop[4200], buf[16];
    char *text = NULL;
    struct jb_err err = { 0 };
    snprintf(fifo, sizeof fifo, "%s/fifo", g_dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(jb_read_file(fifo, 100, &text, NULL, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, "/fifo: is a FIFO, not a regular file"));
    assert_int_equal(jb_read_text(fifo, buf, sizeof buf), -EINVAL); /* returns, never blocks */
    assert_int_equal(jb_read_file("/dev/zero", 100, &text, NULL, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, "/dev/zero: is a device, not a regular file"));
    assert_int_equal(jb_read_file(g_dir, 100, &text, NULL, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, ": is a directory, not a regular file"));
    assert_int_equal(jb_read_text(g_dir, buf, sizeof buf), -EISDIR);
    snprintf(loop, sizeof loop, "%s/loop", g_dir);
    assert_int_equal(symlink(loop, loop), 0);
    assert_int_equal(jb_read_file(loop, 100, &text, NULL, &err), JB_EINVAL);
    assert_non_null(strstr(err.msg, strerror(ELOOP)));
    assert_null(text);
}

static void test_read_text_and_mkdir(void **state)
{
    (void)state;
    char buf[8], dir[4200];
    struct jb_err err = { 0 };
    assert_int_equal(jb_read_text(jb_test_write(g_dir, "line", "12345\n678"), buf, sizeof buf), 0);
    assert_string_equal(buf, "12345");
    assert_int_equal(jb_read_text("/nonexistent/f", buf, sizeof buf), -ENOENT);
    snprintf(dir, sizeof dir, "%s/a/b/c", g_dir);
    assert_int_equal(jb_mkdir_p(dir, 0755, NULL, &err), 0);
    assert_int_equal(jb_mkdir_p(dir, 0755, NULL, &err), 0); /* already there */
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    snprintf(dir, sizeof dir, "%s/line/sub", g_dir); /* under a file */
    assert_int_equal(jb_mkdir_p(dir, 0755, "results folder", &err), JB_EIO);
    assert_non_null(strstr(err.msg, "cannot create results folder "));
    assert_int_equal(jb_mkdir_p(dir, 0755, NULL, &err), JB_EIO);
    assert_non_null(strstr(err.msg, "/line/sub: cannot create: "));
}

static int setup(void **state)
{
    return jb_test_tmp_setup(state, g_dir, sizeof g_dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_input_kinds),
        cmocka_unit_test(test_read_text_and_mkdir),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("common", tests, setup, jb_test_tmp_teardown));
}

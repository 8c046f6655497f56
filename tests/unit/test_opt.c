/* test_opt.c — the programs' option parser (tools/lib opt.h): every type,
 * ranges, bad values, the `=` form, unknown flags, missing values, config
 * files and the generated --help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "opt.h"

/* Every destination type, reset before each test. */
struct dst {
	bool flag;
	bool noflag;
	bool on;
	int i;
	uint32_t u;
	uint64_t u64;
	double d;
	double pos;
	char buf[8];
	const char *ptr;
	int color;
	char shape[16];
	unsigned mask;
	uint32_t list[3];
	uint32_t n_list;
	uint32_t zlist[4]; /* 0-terminated, up to 3 values */
	char even[16];
	bool even_seen;
	bool u_seen;
};

static struct dst D;
static char out_buf[8192];
static char err_buf[1024];
static FILE *out_f;
static FILE *err_f;

static const struct opt_choice colors[] = {
    {"red", 10}, {"green", 20}, {"blue", 30}, {NULL, 0}};
static const struct opt_choice shapes[] = {
    {"circle", 0}, {"square", 0}, {NULL, 0}};
static const struct opt_choice bits[] = {
    {"a", 0}, {"b", 1}, {"c", 5}, {NULL, 0}};

/* OPT_CALL: an even number of characters, copied; odd ones say why. */
static int even(const struct opt *o, const char *v, char *why, size_t cap)
{
	size_t len = strlen(v);

	if (strcmp(v, "why") == 0) {
		snprintf(why, cap, "custom reason");
		return -1;
	}
	if (len % 2 != 0 || len >= o->size) {
		return -1;
	}
	memcpy(o->dst, v, len + 1);
	return 0;
}

static const struct opt table[] = {
    {.name = "flag",
     .short_name = 'f',
     .type = OPT_FLAG,
     .dst = &D.flag,
     .help = "a flag"},
    {.name = "no-thing",
     .type = OPT_NOFLAG,
     .dst = &D.noflag,
     .help = "clears a default-on thing"},
    {.name = "on",
     .type = OPT_BOOL,
     .dst = &D.on,
     .def = "off",
     .help = "a switch"},
    {.name = "int",
     .type = OPT_INT,
     .dst = &D.i,
     .min = 3,
     .max = 70,
     .help = "an int"},
    {.name = "uint",
     .short_name = 'u',
     .type = OPT_UINT,
     .dst = &D.u,
     .max = UINT32_MAX,
     .seen = &D.u_seen,
     .def = "7",
     .help = "a uint"},
    {.name = "u64",
     .type = OPT_U64,
     .dst = &D.u64,
     .min = 1,
     .max = UINT64_MAX,
     .help = "a 64-bit value"},
    {.name = "double",
     .type = OPT_DOUBLE,
     .dst = &D.d,
     .dmin = 0.5,
     .dmax = 2.5,
     .help = "a number"},
    {.name = "positive",
     .type = OPT_DOUBLE,
     .dst = &D.pos,
     .dmin = 0,
     .min_open = true,
     .dmax = 10,
     .help = "above zero"},
    {.name = "buf",
     .type = OPT_STRING,
     .dst = D.buf,
     .size = sizeof(D.buf),
     .arg = "S",
     .help = "copied"},
    {.name = "ptr",
     .type = OPT_STRING,
     .dst = &D.ptr,
     .arg = "S",
     .help = "kept"},
    {.name = "color",
     .type = OPT_ENUM,
     .dst = &D.color,
     .choices = colors,
     .def = "red",
     .help = "an enum"},
    {.name = "shape",
     .type = OPT_ENUM,
     .dst = D.shape,
     .size = sizeof(D.shape),
     .choices = shapes,
     .arg = "SHAPE",
     .help = "an enum kept by name"},
    {.name = "bits",
     .type = OPT_NAMES,
     .dst = &D.mask,
     .choices = bits,
     .help = "names into a mask"},
    {.name = "list",
     .type = OPT_LIST,
     .dst = D.list,
     .size = 3,
     .count = &D.n_list,
     .min = 1,
     .max = 100,
     .help = "counted list"},
    {.name = "zlist",
     .type = OPT_LIST,
     .dst = D.zlist,
     .size = 4,
     .min = 1,
     .max = 0xffff,
     .help = "0-terminated list"},
    {.name = "even",
     .type = OPT_CALL,
     .dst = D.even,
     .size = sizeof(D.even),
     .fn = even,
     .want = "an even number of characters",
     .seen = &D.even_seen,
     .arg = "TEXT",
     .help = "a long help text that the generator must wrap over several "
	     "lines so that none of them is wider than the terminal, "
	     "which is seventy-nine columns here"},
    {.name = "config",
     .short_name = 'c',
     .type = OPT_CONFIG,
     .help = "name = value lines"},
};

static const struct opt_cmd *cmd(void)
{
	static struct opt_cmd c;

	c = (struct opt_cmd){
	    .prog = "prog",
	    .usage = "prog [options]",
	    .about = "About text.",
	    .epilog = "Epilog text.\n",
	    .opts = table,
	    .n_opts = OPT_COUNT(table),
	    .out = out_f,
	    .err = err_f,
	};
	return &c;
}

static int setup(void **state)
{
	(void)state;
	memset(&D, 0, sizeof(D));
	D.noflag = true;
	D.u = 7;
	D.list[0] = 99;
	D.n_list = 1;
	memset(out_buf, 0, sizeof(out_buf));
	memset(err_buf, 0, sizeof(err_buf));
	out_f = fmemopen(out_buf, sizeof(out_buf) - 1, "w");
	err_f = fmemopen(err_buf, sizeof(err_buf) - 1, "w");
	return out_f == NULL || err_f == NULL;
}

static int teardown(void **state)
{
	(void)state;
	fclose(out_f);
	fclose(err_f);
	return 0;
}

/* Parse the NULL-terminated arguments after "prog". */
static int run(const char *first, ...)
{
	char *argv[32] = {"prog"};
	int argc = 1;
	va_list ap;
	bool help = false;
	int rv;

	va_start(ap, first);
	for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(argc < 31);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	/* Each run's error line alone in err_buf. */
	rewind(err_f);
	memset(err_buf, 0, sizeof(err_buf));
	rv = opt_parse(cmd(), argc, argv, &help);
	fflush(err_f);
	fflush(out_f);
	assert_false(help);
	return rv;
}

/* The error stream holds exactly one line, containing each of @parts. */
static void one_line(const char *p1, const char *p2)
{
	const char *nl = strchr(err_buf, '\n');

	assert_non_null(nl);
	assert_string_equal(nl + 1, "");
	assert_true(strncmp(err_buf, "prog: ", 6) == 0);
	if (strstr(err_buf, p1) == NULL ||
	    (p2 != NULL && strstr(err_buf, p2) == NULL)) {
		fail_msg("error line '%s' lacks '%s' / '%s'", err_buf, p1,
			 p2 ? p2 : "");
	}
}

/* A bad value: FR_INVALID, one line naming the flag, value and rule. */
static void bad(const char *flag, const char *value, const char *rule)
{
	char quoted[256];

	assert_int_equal(run(flag, value, NULL), FR_INVALID);
	snprintf(quoted, sizeof(quoted), "got '%s'", value);
	one_line(flag, quoted);
	if (strstr(err_buf, rule) == NULL) {
		fail_msg("error line '%s' lacks '%s'", err_buf, rule);
	}
}

static void no_args_keep_defaults(void **state)
{
	(void)state;
	assert_int_equal(run(NULL), 0);
	assert_false(D.flag);
	assert_true(D.noflag);
	assert_int_equal(D.u, 7);
	assert_false(D.u_seen);
	assert_int_equal(D.n_list, 1);
	assert_string_equal(err_buf, "");
}

static void flags(void **state)
{
	(void)state;
	assert_int_equal(run("--flag", "--no-thing", NULL), 0);
	assert_true(D.flag);
	assert_false(D.noflag);
	D.flag = false;
	assert_int_equal(run("-f", NULL), 0);
	assert_true(D.flag);
	assert_int_equal(run("--flag=1", NULL), FR_INVALID);
	one_line("--flag takes no value", NULL);
}

static void bools(void **state)
{
	(void)state;
	assert_int_equal(run("--on", "on", NULL), 0);
	assert_true(D.on);
	assert_int_equal(run("--on=off", NULL), 0);
	assert_false(D.on);
	bad("--on", "yes", "want on|off");
	bad("--on", "", "want on|off");
}

static void integers(void **state)
{
	(void)state;
	assert_int_equal(run("--int", "3", "--uint=4294967295", "--u64",
			     "18446744073709551615", NULL),
			 0);
	assert_int_equal(D.i, 3);
	assert_int_equal(D.u, UINT32_MAX);
	assert_true(D.u_seen);
	assert_true(D.u64 == UINT64_MAX);
	assert_int_equal(run("--int", "70", "-u", "0x10", "--u64=0XfF", NULL),
			 0);
	assert_int_equal(D.i, 70);
	assert_int_equal(D.u, 16);
	assert_true(D.u64 == 255);
	bad("--int", "2", "an integer in 3..70");
	bad("--int", "71", "an integer in 3..70");
	bad("--int", "-5", "3..70");
	bad("--int", "+5", "3..70");
	bad("--int", " 5", "3..70");
	bad("--int", "5x", "3..70");
	bad("--int", "0x", "3..70");
	bad("--int", "", "3..70");
	bad("--uint", "4294967296", "0..4294967295");
	bad("--u64", "18446744073709551616", "1..18446744073709551615");
	bad("--u64", "0", "1..");
	/* A refused value leaves the destination alone. */
	assert_int_equal(D.i, 70);
}

static void doubles(void **state)
{
	(void)state;
	assert_int_equal(run("--double", "0.5", "--positive=1e-9", NULL), 0);
	assert_true(D.d == 0.5);
	assert_true(D.pos == 1e-9);
	assert_int_equal(run("--double", "2.5", "--positive", "10", NULL), 0);
	assert_true(D.d == 2.5 && D.pos == 10);
	bad("--double", "0.4", "a number from 0.5 up to 2.5");
	bad("--double", "2.6", "from 0.5");
	bad("--double", "nan", "from 0.5");
	bad("--double", "1.0x", "from 0.5");
	bad("--positive", "0", "a number above 0 up to 10");
	bad("--positive", "inf", "above 0");
}

static void strings(void **state)
{
	const char *argv_text = "kept-as-is";

	(void)state;
	assert_int_equal(run("--buf", "1234567", "--ptr", argv_text, NULL), 0);
	assert_string_equal(D.buf, "1234567");
	assert_ptr_equal(D.ptr, argv_text);
	bad("--buf", "12345678", "1..7 bytes");
	bad("--buf", "", "1..7 bytes");
	bad("--ptr", "", "non-empty");
	assert_string_equal(D.buf, "1234567");
}

static void enums(void **state)
{
	(void)state;
	assert_int_equal(run("--color", "green", "--shape=square", NULL), 0);
	assert_int_equal(D.color, 20);
	assert_string_equal(D.shape, "square");
	bad("--color", "Green", "one of red|green|blue");
	bad("--shape", "triangle", "one of circle|square");
	assert_int_equal(D.color, 20);
}

static void name_sets(void **state)
{
	(void)state;
	assert_int_equal(run("--bits", "c,a", NULL), 0);
	assert_int_equal(D.mask, 1u << 5 | 1u << 0);
	/* The last occurrence replaces the set. */
	assert_int_equal(run("--bits", "c,a", "--bits", "b", NULL), 0);
	assert_int_equal(D.mask, 1u << 1);
	bad("--bits", "a,d", "a comma list of a|b|c");
	bad("--bits", "", "a|b|c");
	bad("--bits", "a,,b", "a|b|c");
	bad("--bits", "a,", "a|b|c");
	assert_int_equal(D.mask, 1u << 1);
}

static void lists(void **state)
{
	(void)state;
	assert_int_equal(run("--list", "1,100,0x20", NULL), 0);
	assert_int_equal(D.n_list, 3);
	assert_int_equal(D.list[0], 1);
	assert_int_equal(D.list[1], 100);
	assert_int_equal(D.list[2], 32);
	assert_int_equal(run("--list=5", NULL), 0);
	assert_int_equal(D.n_list, 1);
	assert_int_equal(D.list[0], 5);
	bad("--list", "1,2,3,4", "up to 3 integers in 1..100");
	bad("--list", "1,101", "1..100");
	bad("--list", "0", "1..100");
	bad("--list", "1,x", "1..100");
	bad("--list", "", "1..100");
	bad("--list", "1,,2", "1..100");
	/* Untouched by the refused lists. */
	assert_int_equal(D.n_list, 1);
	assert_int_equal(D.list[0], 5);

	D.zlist[3] = 77;
	assert_int_equal(run("--zlist", "7,8,9", NULL), 0);
	assert_int_equal(D.zlist[0], 7);
	assert_int_equal(D.zlist[2], 9);
	assert_int_equal(D.zlist[3], 0);
	assert_int_equal(run("--zlist", "4", NULL), 0);
	assert_int_equal(D.zlist[0], 4);
	assert_int_equal(D.zlist[1], 0);
	bad("--zlist", "1,2,3,4", "up to 3 integers in 1..65535");
}

static void callbacks(void **state)
{
	(void)state;
	assert_int_equal(run("--even", "abcd", NULL), 0);
	assert_string_equal(D.even, "abcd");
	assert_true(D.even_seen);
	bad("--even", "abc", "want an even number of characters");
	assert_int_equal(run("--even", "why", NULL), FR_INVALID);
	one_line("prog: --even: custom reason\n", NULL);
}

static void command_line_errors(void **state)
{
	(void)state;
	assert_int_equal(run("--nope", "1", NULL), FR_INVALID);
	one_line("unknown option '--nope'", "see --help");
	assert_int_equal(run("--nope=1", NULL), FR_INVALID);
	one_line("unknown option '--nope'", NULL);
	/* No abbreviations: --in is not --int. */
	assert_int_equal(run("--in", "5", NULL), FR_INVALID);
	one_line("unknown option '--in'", NULL);
	assert_int_equal(run("-z", NULL), FR_INVALID);
	one_line("unknown option '-z'", NULL);
	assert_int_equal(run("--int", NULL), FR_INVALID);
	one_line("--int needs a value", NULL);
	assert_int_equal(run("--flag", "stray", NULL), FR_INVALID);
	one_line("unexpected argument 'stray'", NULL);
	assert_int_equal(run("--", NULL), FR_INVALID);
	one_line("unknown option '--'", NULL);
	/* The value after a flag is taken as is, even with dashes. */
	D.flag = false;
	assert_int_equal(run("--ptr", "--flag", NULL), 0);
	assert_string_equal(D.ptr, "--flag");
	assert_false(D.flag);
	/* The `=` form keeps everything after the first '='. */
	assert_int_equal(run("--ptr=a=b", NULL), 0);
	assert_string_equal(D.ptr, "a=b");
}

/* Write @text to a temp file; its path into @path. */
static void temp_file(char *path, size_t cap, const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, cap, "/tmp/test_opt.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void config_files(void **state)
{
	char path[64];
	char arg[80];

	(void)state;
	temp_file(path, sizeof(path),
		  "# a comment\n"
		  "\n"
		  "   \t\n"
		  "int = 42\n"
		  "  uint=9  \n"
		  "buf = a b c\r\n"
		  "flag = on\n"
		  "no-thing = on\n"
		  "color = blue\n"
		  "list = 4,5\n"
		  "even = xy\n");
	assert_int_equal(
	    run("--int", "5", "--config", path, "--uint", "11", NULL), 0);
	assert_int_equal(D.i, 42); /* the file overrides earlier flags */
	assert_int_equal(D.u, 11); /* and later flags override it */
	assert_string_equal(D.buf, "a b c");
	assert_true(D.flag);
	assert_false(D.noflag);
	assert_int_equal(D.color, 30);
	assert_int_equal(D.n_list, 2);
	assert_string_equal(D.even, "xy");
	unlink(path);

	/* A flag set off in a file. */
	temp_file(path, sizeof(path), "flag = off\nno-thing = off\n");
	snprintf(arg, sizeof(arg), "--config=%s", path);
	assert_int_equal(run(arg, NULL), 0);
	assert_false(D.flag);
	assert_true(D.noflag);
	unlink(path);
}

/* A config text that fails: one line with @origin:@line and @part. */
static void bad_config(const char *text, int line, const char *part)
{
	char path[64];
	char where[96];

	temp_file(path, sizeof(path), text);
	assert_int_equal(run("-c", path, NULL), FR_INVALID);
	snprintf(where, sizeof(where), "%s:%d: ", path, line);
	one_line(where, part);
	unlink(path);
}

static void config_errors(void **state)
{
	char line[5000];

	(void)state;
	bad_config("int = 5\nint 6\n", 2, "want 'name = value'");
	bad_config("# x\nbogus = 1\n", 2, "unknown setting 'bogus'");
	bad_config("int = 1\n", 1, "int: want an integer in 3..70, got '1'");
	bad_config("flag = maybe\n", 1, "flag: want on|off");
	bad_config("\n\nconfig = /etc/x\n", 3, "cannot include another");
	bad_config("buf = \n", 1, "buf: want 1..7 bytes, got ''");
	bad_config("ptr = x\n", 1, "ptr: can be set on the command line only");
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	bad_config(line, 1, "line longer than");

	assert_int_equal(run("--config", "/nonexistent/test_opt", NULL), FR_IO);
	one_line("/nonexistent/test_opt", "No such file");
}

/* opt_config_read() straight from a stream (a program's own file). */
static void config_stream(void **state)
{
	char text[] = "int = 9\nshape = circle\n";
	FILE *f = fmemopen(text, strlen(text), "r");

	(void)state;
	assert_non_null(f);
	assert_int_equal(opt_config_read(cmd(), f, "inline"), 0);
	fclose(f);
	assert_int_equal(D.i, 9);
	assert_string_equal(D.shape, "circle");
}

static void help_text(void **state)
{
	char *argv[] = {"prog", "--int", "5", "--help", "--int", "bad"};
	bool help = false;
	const char *s;
	size_t width = 0;

	(void)state;
	assert_int_equal(opt_parse(cmd(), 6, argv, &help), 0);
	fflush(out_f);
	assert_true(help);
	/* Parsing stopped at --help. */
	assert_int_equal(D.i, 5);
	assert_string_equal(err_buf, "");
	s = "usage: prog [options]\nAbout text.\n\n";
	assert_true(strncmp(out_buf, s, strlen(s)) == 0);
	for (size_t i = 0; i < OPT_COUNT(table); i++) {
		char name[64];

		snprintf(name, sizeof(name), "--%s", table[i].name);
		if (strstr(out_buf, name) == NULL) {
			fail_msg("--help lacks %s:\n%s", name, out_buf);
		}
	}
	assert_non_null(strstr(out_buf, "  -f, --flag "));
	assert_non_null(strstr(out_buf, "  -u, --uint N "));
	assert_non_null(strstr(out_buf, "--on on|off "));
	assert_non_null(strstr(out_buf, "--color red|green|blue "));
	assert_non_null(strstr(out_buf, "--shape SHAPE "));
	assert_non_null(strstr(out_buf, "--config FILE "));
	assert_non_null(strstr(out_buf, "a uint (default 7)"));
	assert_non_null(strstr(out_buf, "  -h, --help "));
	assert_non_null(strstr(out_buf, "\nEpilog text.\n"));
	/* Wrapped: every line fits, the long text spans several. */
	s = out_buf;
	while (*s != '\0') {
		size_t len = strcspn(s, "\n");

		width = len > width ? len : width;
		s += len + (s[len] == '\n');
	}
	assert_true(width <= 79);
	assert_non_null(strstr(out_buf, "seventy-nine"));
	assert_null(strstr(out_buf, "wrap over several lines so that none of "
				    "them is wider than the terminal"));

	/* -h too, and opt_help() alone gives the same text. */
	{
		char *argv2[] = {"prog", "-h"};
		char again[8192] = "";
		FILE *f = fmemopen(again, sizeof(again) - 1, "w");

		rewind(out_f);
		help = false;
		assert_int_equal(opt_parse(cmd(), 2, argv2, &help), 0);
		fflush(out_f);
		assert_true(help);
		assert_non_null(f);
		opt_help(cmd(), f);
		fclose(f);
		assert_string_equal(again, out_buf);
	}
}

/* opt_parse_main(): the texts without a table, the table apart; an exit
 * code, or -1 to run. */
static void parse_main(void **state)
{
	const struct opt_cmd texts = {
	    .prog = "prog",
	    .usage = "prog [options]",
	    .about = "About text.",
	    .epilog = "Epilog text.\n",
	    .out = out_f,
	    .err = err_f,
	};
	char *run_argv[] = {"prog", "--int", "5", "-f"};
	char *bad_argv[] = {"prog", "--int", "x"};
	char *help_argv[] = {"prog", "--help"};
	char again[8192] = "";
	FILE *f = fmemopen(again, sizeof(again) - 1, "w");

	(void)state;
	assert_int_equal(
	    opt_parse_main(&texts, table, OPT_COUNT(table), 4, run_argv), -1);
	assert_int_equal(D.i, 5);
	assert_true(D.flag);
	assert_int_equal(
	    opt_parse_main(&texts, table, OPT_COUNT(table), 3, bad_argv), 2);
	fflush(err_f);
	one_line("prog: --int", "'x'");
	assert_int_equal(D.i, 5);
	assert_int_equal(
	    opt_parse_main(&texts, table, OPT_COUNT(table), 2, help_argv), 0);
	fflush(out_f);
	/* The same help as the whole command's. */
	assert_non_null(f);
	opt_help(cmd(), f);
	fclose(f);
	assert_string_equal(again, out_buf);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(no_args_keep_defaults),
	    T(flags),
	    T(bools),
	    T(integers),
	    T(doubles),
	    T(strings),
	    T(enums),
	    T(name_sets),
	    T(lists),
	    T(callbacks),
	    T(command_line_errors),
	    T(config_files),
	    T(config_errors),
	    T(config_stream),
	    T(help_text),
	    T(parse_main),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}

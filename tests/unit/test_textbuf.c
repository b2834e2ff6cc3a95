// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The printf-free appenders write what printf would, byte for byte. */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include "unit.h"
#include "textbuf.h"
#include "units.h"

static char buf[4096];
static struct tl_textbuf tb;

static struct tl_textbuf *fresh(void)
{
	tb_init(&tb, buf, sizeof(buf));
	return &tb;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	return xorshift64(&rng_state);
}

/* Values with every digit count, and those next to each power of ten. */
static uint64_t interesting_u64(int i)
{
	static const uint64_t fixed[] = { 0, 1, 9, 10, 11, 99, 100, 65535, 4294967295u,
					  UINT64_MAX - 1, UINT64_MAX };
	uint64_t p = 1;

	if (i < (int)(sizeof(fixed) / sizeof(fixed[0])))
		return fixed[i];
	i -= (int)(sizeof(fixed) / sizeof(fixed[0]));
	if (i < 57) {
		for (int k = 0; k < i / 3; k++)
			p *= 10;
		return p + (uint64_t)(i % 3) - 1;	/* 10^k - 1, 10^k, 10^k + 1 */
	}
	return rng() >> (rng() % 64);
}

static void test_u64(void)
{
	char want[64];

	tb_u64(fresh(), 0);
	CHECK_STR(tb_cstr(&tb), "0");
	tb_u64(fresh(), UINT64_MAX);
	CHECK_STR(tb_cstr(&tb), "18446744073709551615");
	for (int i = 0; i < 2000; i++) {
		uint64_t v = interesting_u64(i);

		snprintf(want, sizeof(want), "%" PRIu64, v);
		tb_u64(fresh(), v);
		CHECK_STR(tb_cstr(&tb), want);
	}
}

static void test_i64(void)
{
	static const int64_t fixed[] = { 0, 1, -1, 9, -9, 10, -10, INT32_MAX, INT32_MIN,
					 INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	char want[64];

	tb_i64(fresh(), INT64_MIN);
	CHECK_STR(tb_cstr(&tb), "-9223372036854775808");
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 1000; i++) {
		int64_t v = i < sizeof(fixed) / sizeof(fixed[0]) ? fixed[i] : (int64_t)rng();

		snprintf(want, sizeof(want), "%" PRId64, v);
		tb_i64(fresh(), v);
		CHECK_STR(tb_cstr(&tb), want);
	}
}

/* Every width the text columns use, both ways, around each length. */
static void test_widths(void)
{
	static const int widths[] = { 0, 1, 3, 4, 5, 7, 11, 12, 13, 16, 21, 39 };
	static const char *const strs[] = { "", "-", "ab", "LADDR", "ESTABLISHED",
					    "192.168.100.200", "2001:db8:1:2:3:4:5:6" };
	char want[128];

	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		for (int sign = -1; sign <= 1; sign += 2) {
			int width = sign * widths[w];

			for (size_t s = 0; s < sizeof(strs) / sizeof(strs[0]); s++) {
				snprintf(want, sizeof(want), "%*s|", width, strs[s]);
				tb_str_w(fresh(), strs[s], width);
				tb_chr(&tb, '|');
				CHECK_STR(tb_cstr(&tb), want);
				/* n bytes of a longer string */
				snprintf(want, sizeof(want), "%*.*s|", width, 2, strs[s]);
				tb_mem_w(fresh(), strs[s], strnlen(strs[s], 2), width);
				tb_chr(&tb, '|');
				CHECK_STR(tb_cstr(&tb), want);
			}
			for (int i = 0; i < 100; i++) {
				uint64_t v = interesting_u64(i);
				int64_t sv = (int64_t)v;

				snprintf(want, sizeof(want), "%*" PRIu64 "|", width, v);
				tb_u64_w(fresh(), v, width);
				tb_chr(&tb, '|');
				CHECK_STR(tb_cstr(&tb), want);
				snprintf(want, sizeof(want), "%*" PRId64 "|", width, sv);
				tb_i64_w(fresh(), sv, width);
				tb_chr(&tb, '|');
				CHECK_STR(tb_cstr(&tb), want);
			}
		}
	}
	tb_i64_w(fresh(), -1, -7);
	tb_str_w(&tb, "x", 3);
	CHECK_STR(tb_cstr(&tb), "-1       x");
}

static void test_zero_padded(void)
{
	char want[64];

	tb_u64_zero(fresh(), 5, 2);
	tb_u64_zero(&tb, 0, 3);
	tb_u64_zero(&tb, 123, 2);
	tb_u64_zero(&tb, 7, 0);
	CHECK_STR(tb_cstr(&tb), "050001237");
	for (int d = 0; d <= 22; d++) {
		for (int i = 0; i < 200; i++) {
			uint64_t v = interesting_u64(i);

			snprintf(want, sizeof(want), "%0*" PRIu64, d, v);
			tb_u64_zero(fresh(), v, d);
			CHECK_STR(tb_cstr(&tb), want);
		}
	}
}

/* Wall-clock times in JSON and CSV: what strftime writes in UTC. */
static void test_utc_seconds(void)
{
	static const int64_t fixed[] = { 0, 59, 951782400 /* 2000-02-29 */, 1704112496,
					 4102444799 /* 2099-12-31T23:59:59 */,
					 INT64_C(9223372036) /* 2262 */ };
	char want[64];

	tb_utc_seconds(fresh(), 1704112496);
	CHECK_STR(tb_cstr(&tb), "2024-01-01T12:34:56");
	for (int i = 0; i < 2000; i++) {
		int64_t sec = i < 6 ? fixed[i] : (int64_t)(rng() % UINT64_C(9223372036));
		time_t t = (time_t)sec;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		tb_utc_seconds(fresh(), sec);
		CHECK_STR(tb_cstr(&tb), want);
	}
}

/* The duration columns: what the text table printed before. */
static void test_ms(void)
{
	static const int widths[] = { 0, 12, 13, -12 };
	char num[64], want[64];

	tb_ms(fresh(), 0, 0);
	CHECK_STR(tb_cstr(&tb), "0.000");
	tb_ms(fresh(), 999, 0);	/* below a microsecond */
	CHECK_STR(tb_cstr(&tb), "0.000");
	tb_ms(fresh(), 1234567, 0);
	CHECK_STR(tb_cstr(&tb), "1.234");
	tb_ms(fresh(), 60000000000ull, 12);
	CHECK_STR(tb_cstr(&tb), "   60000.000");
	tb_ms(fresh(), 300000, 13);
	CHECK_STR(tb_cstr(&tb), "        0.300");
	tb_ms(fresh(), UINT64_MAX, 0);
	CHECK_STR(tb_cstr(&tb), "18446744073709.551");
	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		for (int i = 0; i < 1000; i++) {
			uint64_t ns = interesting_u64(i);

			snprintf(num, sizeof(num), "%" PRIu64 ".%03" PRIu64, ns / 1000000,
				 ns % 1000000 / 1000);
			snprintf(want, sizeof(want), "%*s", widths[w], num);
			tb_ms(fresh(), ns, widths[w]);
			CHECK_STR(tb_cstr(&tb), want);
		}
	}
}

/* Each form at its edges: rounding that reaches the next form's range
 * takes that form, so no value passes 5 characters below 999.5 h. */
static void test_dur(void)
{
	static const struct { uint64_t ns; const char *want; } cases[] = {
		{ 0, "0.0us" }, { 49, "0.0us" }, { 50, "0.1us" }, { 8149, "8.1us" },
		{ 9949, "9.9us" }, { 9950, "10us" }, { 13000, "13us" }, { 999499, "999us" },
		{ 999500, "1.0ms" }, { 1500000, "1.5ms" }, { 9950000, "10ms" },
		{ 201532000, "202ms" }, { 999500000, "1.00s" }, { 1503114000, "1.50s" },
		{ 9995000000ull, "10.0s" }, { 60719880000ull, "60.7s" },
		{ 99950000000ull, "100s" }, { 9999499999999ull, "9999s" },
		{ 9999500000000ull, "2.8h" }, { 100000ull * 3600 * 1000000000, "100000h" },
		{ UINT64_MAX, "5124096h" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tb_dur(fresh(), cases[i].ns, 0);
		CHECK_STR(tb_cstr(&tb), cases[i].want);
	}
	tb_dur(fresh(), 1500000, 7);
	CHECK_STR(tb_cstr(&tb), "  1.5ms");
	tb_dur(fresh(), 1500000, -7);
	CHECK_STR(tb_cstr(&tb), "1.5ms  ");
	for (int i = 0; i < 100000; i++) {
		uint64_t ns = rng() >> (rng() % 64);

		tb_dur(fresh(), ns, 0);
		CHECK(tb.len <= 5 || ns >= 9995 * 360 * NS_PER_SEC / 10);
	}
}

static void check_ipv6(const uint8_t a[16])
{
	char want[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, want, sizeof(want));
	tb_ipv6(fresh(), a);
	CHECK_STR(tb_cstr(&tb), want);
}

static void test_addresses(void)
{
	/* Groups that make every run of zeros and every mapped form. */
	static const uint16_t groups[] = { 0, 1, 0xffff, 0x0abc };
	char want[INET6_ADDRSTRLEN];
	uint8_t a[16];

	for (int i = 0; i < 5000; i++) {
		uint32_t v = i < 256 ? 0x01010101u * (uint32_t)i : (uint32_t)rng();

		memcpy(a, &v, 4);
		if (i < 256)
			a[i % 4] = 0;
		inet_ntop(AF_INET, a, want, sizeof(want));
		tb_ipv4(fresh(), a);
		CHECK_STR(tb_cstr(&tb), want);
	}
	for (uint32_t combo = 0; combo < 1u << 16; combo++) {
		for (int g = 0; g < 8; g++) {
			uint16_t w = groups[combo >> (2 * g) & 3];

			a[2 * g] = (uint8_t)(w >> 8);
			a[2 * g + 1] = (uint8_t)w;
		}
		check_ipv6(a);
	}
	for (int i = 0; i < 20000; i++) {
		for (int k = 0; k < 16; k++)
			a[k] = (uint8_t)rng();
		/* Groups under 0x1000 have fewer digits: shrink some. */
		for (int g = 0; g < 8; g++)
			a[2 * g] >>= rng() % 9;
		check_ipv6(a);
	}
	memset(a, 0, sizeof(a));
	tb_ipv6(fresh(), a);
	CHECK_STR(tb_cstr(&tb), "::");
	a[10] = a[11] = 0xff;
	a[12] = 10;
	a[15] = 1;
	tb_ipv6(fresh(), a);
	CHECK_STR(tb_cstr(&tb), "::ffff:10.0.0.1");
}

/* The JSON string writer as it was, one snprintf per character range. */
/* Well-formed UTF-8 as the Unicode Standard's table 3-7 lists it, row by
 * row: an oracle derived apart from the writer's decoding. */
static size_t utf8_len_ref(const unsigned char *s, size_t n)
{
	static const struct {
		unsigned char lead_lo, lead_hi, second_lo, second_hi, len;
	} rows[] = {
		{ 0xc2, 0xdf, 0x80, 0xbf, 2 }, { 0xe0, 0xe0, 0xa0, 0xbf, 3 },
		{ 0xe1, 0xec, 0x80, 0xbf, 3 }, { 0xed, 0xed, 0x80, 0x9f, 3 },
		{ 0xee, 0xef, 0x80, 0xbf, 3 }, { 0xf0, 0xf0, 0x90, 0xbf, 4 },
		{ 0xf1, 0xf3, 0x80, 0xbf, 4 }, { 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};

	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lead_lo || s[0] > rows[r].lead_hi)
			continue;
		if (n < rows[r].len || s[1] < rows[r].second_lo || s[1] > rows[r].second_hi)
			return 0;
		for (size_t i = 2; i < rows[r].len; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		return rows[r].len;
	}
	return 0;
}

static void json_ref(char *out, size_t cap, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, max), len = 0, k;

#define REF(...) (len += (size_t)snprintf(out + len, cap - len, __VA_ARGS__))
	REF("\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\')
			REF("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			REF("\\u%04x", c);
		else if (c < 0x80)
			REF("%c", c);
		else if (c == 0xc2 && i + 1 < n && p[i + 1] < 0xa0 && p[i + 1] >= 0x80)
			REF("\\u%04x", p[i + 1]), i++;	/* C1 control */
		else if ((k = utf8_len_ref(p + i, n - i)))
			REF("%.*s", (int)k, (const char *)p + i), i += k - 1;
		else
			REF("\\u%04x", c);
	}
	REF("\"");
#undef REF
}

static void test_json_escape(void)
{
	static char want[8192];
	char s[64];

	tb_json_str(fresh(), "a\"b\\c\x01\n\x1f\x7f" "d", 64);
	CHECK_STR(tb_cstr(&tb), "\"a\\\"b\\\\c\\u0001\\u000a\\u001f\\u007fd\"");
	/* Valid UTF-8 of 2, 3 and 4 bytes is kept; stray bytes read as Latin-1. */
	tb_json_str(fresh(), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\xff\xc3|\x80", 64);
	CHECK_STR(tb_cstr(&tb), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\\u00ff\\u00c3|\\u0080\"");
	/* Overlong, a surrogate, past U+10FFFF: each byte escaped. */
	tb_json_str(fresh(), "\xc0\xaf\xe0\x80\x80\xed\xa0\x80\xf4\x90\x80\x80", 64);
	CHECK_STR(tb_cstr(&tb), "\"\\u00c0\\u00af\\u00e0\\u0080\\u0080\\u00ed\\u00a0\\u0080"
		  "\\u00f4\\u0090\\u0080\\u0080\"");
	/* max cuts a string with no NUL, and a sequence split by it. */
	tb_json_str(fresh(), "abc\xc3\xa9", 4);
	CHECK_STR(tb_cstr(&tb), "\"abc\\u00c3\"");
	tb_json_str(fresh(), "", 16);
	CHECK_STR(tb_cstr(&tb), "\"\"");
	for (int i = 0; i < 20000; i++) {
		size_t n = rng() % sizeof(s), max = rng() % (sizeof(s) + 1);
		int kind = (int)(rng() % 3);

		for (size_t k = 0; k < n; k++) {
			uint8_t c = (uint8_t)rng();

			/* Mostly UTF-8 shaped bytes, or any byte at all. */
			if (kind == 1)
				c = k % 3 ? (uint8_t)(0x80 | (c & 0x3f)) : (uint8_t)(0xc0 | (c & 0x3f));
			else if (kind == 2 && c >= 0x80)
				c = (uint8_t)(0xe0 | (c & 0x1f));
			s[k] = (char)(c ? c : 'x');
		}
		s[n] = '\0';
		json_ref(want, sizeof(want), s, max);
		tb_json_str(fresh(), s, max);
		CHECK_STR(tb_cstr(&tb), want);
	}
}

/* A full buffer keeps the first bytes of the text, as snprintf does. */
static void test_truncation(void)
{
	static const char full[] = "ab  42\"\\u0001\"7!";
	char small[11], want[256];
	struct tl_textbuf t;

	for (size_t cap = 1; cap <= sizeof(small); cap++) {
		tb_init(&t, small, cap);
		tb_str(&t, "ab");
		tb_u64_w(&t, 42, 4);
		tb_json_str(&t, "\x01", 16);
		tb_printf(&t, "%d", 7);
		tb_chr(&t, '!');
		memcpy(want, full, cap - 1);
		want[cap - 1] = '\0';
		CHECK_EQ_U64(t.len, cap - 1);
		CHECK_STR(tb_cstr(&t), want);
	}
	/* printf's own piece cut short */
	for (size_t cap = 1; cap <= sizeof(small); cap++) {
		tb_init(&t, small, cap);
		tb_chr(&t, 'a');
		tb_printf(&t, "%s-%d", "bcde", 12345);
		tb_chr(&t, '!');
		snprintf(want, sizeof(want), "%.*s", (int)cap - 1, "abcde-12345!");
		CHECK_STR(tb_cstr(&t), want);
	}
	tb_printf(fresh(), "%s:%u", "x", 9u);
	CHECK_STR(tb_cstr(&tb), "x:9");
}

static void text_is(const char *in, const char *want)
{
	tb_text_str(fresh(), in, SIZE_MAX);
	CHECK_STR(tb_cstr(&tb), want);
}

static void test_text_escape(void)
{
	text_is("nginx: worker", "nginx: worker");
	text_is("\x1b[2J\x1b]0;X\a\nFAKE", "\\x1b[2J\\x1b]0;X\\x07\\x0aFAKE");
	text_is("a\\b\x7f", "a\\\\b\\x7f");
	/* UTF-8 kept, C1 controls (U+009B is CSI) and broken sequences not */
	text_is("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
	text_is("\xc2\x9b" "2J", "\\xc2\\x9b" "2J");
	text_is("\xc2\xa0|\xff|\xc3|\xed\xa0\x80", "\xc2\xa0|\\xff|\\xc3|\\xed\\xa0\\x80");
	/* bounded by max, even inside a sequence */
	tb_text_str(fresh(), "ab\xc3\xa9", 3);
	CHECK_STR(tb_cstr(&tb), "ab\\xc3");
	tb_text_str_w(fresh(), "\t", 16, -6);
	tb_chr(&tb, '|');
	CHECK_STR(tb_cstr(&tb), "\\x09  |");
}

/* A growing buffer keeps every byte however long the text. */
static void test_growing(void)
{
	char small[8], big[100000];
	struct tl_textbuf t;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tb_init_grow(&t, small, sizeof(small));
	tb_str(&t, "ab");
	tb_chr(&t, 'c');
	tb_printf(&t, "%s", big);
	tb_u64_w(&t, 42, 30);
	tb_str_w(&t, "", -20);
	tb_json_str(&t, "\x01\x02", 16);
	for (int i = 0; i < 5000; i++)
		tb_chr(&t, 'z');
	CHECK_EQ_U64(t.len, 3 + sizeof(big) - 1 + 30 + 20 + 14 + 5000);
	CHECK(t.heap && !strncmp(tb_cstr(&t), "abcxxx", 6));
	CHECK(!memcmp(t.buf + 3 + sizeof(big) - 1 + 28, "42                    \"\\u0001", 29));
	CHECK(t.buf[t.len - 1] == 'z' && t.buf[t.len] == '\0');
	tb_release(&t);
	CHECK(!t.heap);
}

int main(void)
{
	RUN(test_u64);
	RUN(test_i64);
	RUN(test_widths);
	RUN(test_zero_padded);
	RUN(test_utc_seconds);
	RUN(test_ms);
	RUN(test_dur);
	RUN(test_addresses);
	RUN(test_json_escape);
	RUN(test_truncation);
	RUN(test_text_escape);
	RUN(test_growing);
	return UNIT_END();
}

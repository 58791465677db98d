/*
 * test_tb_json.c - the hparams group name's JSON, as Python prints it.
 *
 * Without arguments: fixed cases whose expected text is what CPython's
 * json.dumps prints for them (facts about Python, checked by hand), plus
 * the golden hash.  With --repr or --json it is a tool for test_tb_pyjson.py,
 * which feeds it thousands of random values and compares every answer with
 * Python itself:
 *   --repr : each stdin line is a double as 16 hex digits (its bits); print
 *            our repr of it.
 *   --json : each stdin line is "name_hex:kind:value ..." (kind s/i/f/b; s
 *            value hex of the UTF-8 bytes, f value 16 hex digits of the bits);
 *            print the JSON, a tab and the group name.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "check.h"
#include "proto/tb_internal.h"
#include "tests/golden/tb_test_util.h"

static double from_bits(uint64_t b)
{
    double d;
    memcpy(&d, &b, 8);
    return d;
}

static void check_repr(double v, const char *want)
{
    char got[32];
    tb_py_float_repr(v, got);
    CHECK_MSG(strcmp(got, want) == 0, "repr(%.17g): got %s, Python prints %s", v, got, want);
}

static void fixed_cases(void)
{
    check_repr(1e-09, "1e-09");
    check_repr(0.001, "0.001");
    check_repr(0.5, "0.5");
    check_repr(50.0, "50.0");
    check_repr(0.1 + 0.2, "0.30000000000000004");
    check_repr(0.0001, "0.0001");
    check_repr(0.00001, "1e-05");
    check_repr(1e16, "1e+16");
    check_repr(1234567890123456.0, "1234567890123456.0");
    check_repr(12345678901234567.0, "1.2345678901234568e+16");
    check_repr(1e22, "1e+22");
    check_repr(5e-324, "5e-324");
    check_repr(1.7976931348623157e308, "1.7976931348623157e+308");
    check_repr(-0.0, "-0.0");
    check_repr(0.0, "0.0");
    check_repr(-2.5e-7, "-2.5e-07");
    check_repr(4294967295.0, "4294967295.0");
    check_repr(from_bits(0x7ff8000000000000ull), "NaN");
    check_repr(from_bits(0x7ff0000000000000ull), "Infinity");
    check_repr(from_bits(0xfff0000000000000ull), "-Infinity");

    struct tb_hparam_value v[5] = {
        {.name = "z", .kind = TB_VALUE_STRING, .s = "a\"b\\c\n\x7f\xc3\xa9\xf0\x9f\x98\x80/"},
        {.name = "a", .kind = TB_VALUE_INT, .i = -12},
        {.name = "\xc3\xa9t\xc3\xa9", .kind = TB_VALUE_BOOL, .b = true},
        {.name = "b", .kind = TB_VALUE_FLOAT, .f = 1.0},
        {.name = "B", .kind = TB_VALUE_BOOL, .b = false},
    };
    char *json = NULL;
    struct tb_err err = {0};
    CHECK_EQ_INT(tb_hparams_json(v, 5, &json, &err), TB_OK);
    /* json.dumps({"z": 'a"b\\c\n\x7f\xe9\U0001F600/', "a": -12, "\xe9t\xe9": True,
     *             "b": 1.0, "B": False}, sort_keys=True, separators=(",", ":")) */
    CHECK_EQ_STR(json, "{\"B\":false,\"a\":-12,\"b\":1.0,\"z\":\"a\\\"b\\\\c\\n\\u007f\\u00e9"
                       "\\ud83d\\ude00/\",\"\\u00e9t\\u00e9\":true}");
    free(json);
    CHECK_EQ_INT(tb_hparams_json(v, 0, &json, &err), TB_OK);
    CHECK_EQ_STR(json, "{}");
    free(json);
    struct tb_hparam_value bad = {.name = "x", .kind = TB_VALUE_STRING, .s = "\xed\xa0\x80"};
    CHECK_EQ_INT(tb_hparams_json(&bad, 1, &json, &err), TB_ERR_ARG);
    CHECK(json == NULL);

    /* The golden group name (hparams.json of the golden files). */
    struct tb_hparam_value g[9] = {
        {.name = "model", .kind = TB_VALUE_STRING, .s = "conv"},
        {.name = "dataset", .kind = TB_VALUE_STRING, .s = "mnist"},
        {.name = "epochs", .kind = TB_VALUE_INT, .i = 50},
        {.name = "batch_size", .kind = TB_VALUE_INT, .i = 128},
        {.name = "encoding_dim", .kind = TB_VALUE_INT, .i = 32},
        {.name = "l1", .kind = TB_VALUE_FLOAT, .f = 1e-09},
        {.name = "noise_factor", .kind = TB_VALUE_FLOAT, .f = 0.5},
        {.name = "learning_rate", .kind = TB_VALUE_FLOAT, .f = 0.001},
        {.name = "seed", .kind = TB_VALUE_INT, .i = 1},
    };
    char group[65];
    CHECK_EQ_INT(tb_hparams_group_name(g, 9, group, &err), TB_OK);
    CHECK_EQ_STR(group, "2b65cfe8c885f0c5da3979be09c699c99d3125c8678b7062b44237ec442be683");
    /* Changing one value changes the group. */
    g[8].i = 2;
    CHECK_EQ_INT(tb_hparams_group_name(g, 9, group, &err), TB_OK);
    CHECK(strcmp(group, "2b65cfe8c885f0c5da3979be09c699c99d3125c8678b7062b44237ec442be683") != 0);
}

static int tool_repr(void)
{
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        char out[32];
        tb_py_float_repr(from_bits(strtoull(line, NULL, 16)), out);
        printf("%s\n", out);
    }
    return 0;
}

static int tool_json(void)
{
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        struct tb_hparam_value v[64];
        static uint8_t strs[64][2048];
        int n = 0;
        for (char *tok = strtok(line, " \n"); tok && n < 64; tok = strtok(NULL, " \n"), n++) {
            char *k = strchr(tok, ':'), *val = k ? strchr(k + 1, ':') : NULL;
            if (!k || !val)
                return 2;
            *k = *val = '\0';
            long nn = tu_unhex(tok, strs[n], 1023);
            if (nn < 0)
                return 2;
            strs[n][nn] = 0;
            memset(&v[n], 0, sizeof v[n]);
            v[n].name = (const char *)strs[n];
            switch (k[1]) {
            case 's': {
                long ns = tu_unhex(val + 1, strs[n] + 1024, 1023);
                if (ns < 0)
                    return 2;
                strs[n][1024 + ns] = 0;
                v[n].kind = TB_VALUE_STRING;
                v[n].s = (const char *)strs[n] + 1024;
                break;
            }
            case 'i':
                v[n].kind = TB_VALUE_INT;
                v[n].i = strtoll(val + 1, NULL, 10);
                break;
            case 'f':
                v[n].kind = TB_VALUE_FLOAT;
                v[n].f = from_bits(strtoull(val + 1, NULL, 16));
                break;
            default:
                v[n].kind = TB_VALUE_BOOL;
                v[n].b = val[1] == '1';
                break;
            }
        }
        char *json = NULL, group[65];
        struct tb_err err = {0};
        if (tb_hparams_json(v, n, &json, &err) != TB_OK ||
            tb_hparams_group_name(v, n, group, &err) != TB_OK) {
            printf("ERROR %s\n", err.msg);
        } else {
            printf("%s\t%s\n", json, group);
        }
        free(json);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--repr"))
        return tool_repr();
    if (argc == 2 && !strcmp(argv[1], "--json"))
        return tool_json();
    fixed_cases();
    return check_summary("test_tb_json");
}

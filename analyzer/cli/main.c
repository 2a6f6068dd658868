/* main.c - the natlens command: dispatch to a subcommand. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

typedef struct cli_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} cli_cmd;

static const cli_cmd cli_cmds[] = {
    {"flows", cmd_flows, "flows [--json|--csv|--zeek|--zeek-json] [options] FILE [BPF expression]"},
    {"correlate", cmd_correlate, "correlate [--json|--csv] [options] FILE_NEAR FILE_FAR [FILE...] | DIR"},
    {"report", cmd_report, "report -o FILE.{html,md,json} [options] CAPTURE..."},
    {"tui", cmd_tui, "tui [options] FILE [FILE...]"},
    {"fleet", cmd_fleet, "fleet [--server HOST:PORT] [--init] [--json] [DIR]"},
};

static void usage(FILE *f)
{
    fprintf(f, "natlens %s - flows, NAT translations and broken paths across captures\n\nusage:\n",
            NATLENS_VERSION);
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        fprintf(f, "  natlens %s\n", cli_cmds[i].usage);
    fprintf(f, "\n`natlens COMMAND --help` lists a command's options; see natlens(1).\n"
               "Exit status: 0 ok, 1 findings (with --fail-on-findings), 2 bad usage or unreadable\n"
               "input, 3 damaged input (with --strict).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("natlens %s\n", NATLENS_VERSION);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof cli_cmds / sizeof cli_cmds[0]; i++)
        if (!strcmp(argv[1], cli_cmds[i].name))
            return cli_cmds[i].run(argc - 1, argv + 1);
    fprintf(stderr, "natlens: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}

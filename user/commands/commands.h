/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The subcommands, like perf's builtin-*.c: each parses its own options
 * and drives the shared session, collectors and writers. Entry points take
 * argv with argv[0] naming the command and return the exit status.
 */
#ifndef PYSTROBE_COMMANDS_H
#define PYSTROBE_COMMANDS_H

int record_main(int argc, char **argv);
int report_main(int argc, char **argv);
int calls_main(int argc, char **argv);
int scale_main(int argc, char **argv);
int memory_main(int argc, char **argv);
int diff_main(int argc, char **argv);
int top_main(int argc, char **argv);

#endif

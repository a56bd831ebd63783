/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef PYSTROBE_RECORD_H
#define PYSTROBE_RECORD_H

/* Entry points of the subcommands; they return the process exit status. */
int record_main(int argc, char **argv);
int report_main(int argc, char **argv);
int calls_main(int argc, char **argv);

#endif

# SPDX-License-Identifier: MIT
# Script run at install time (cmake -P, from cmake/Install.cmake): writes OUTPUT, the gzipped
# man page of the CLI EXE, with Debian's help2man (HELP2MAN): the synopsis and options from
# `EXE --help`, a COMMANDS section with every subcommand's options (`EXE --help-all`), and the
# environment, files, citing and copyright sections below. Skipped when OUTPUT is newer than EXE. Written to a temporary name
# and renamed, so concurrent installs (parallel tests) never read a half-written page.
foreach(var EXE HELP2MAN OUTPUT)
  if(NOT ${var})
    message(FATAL_ERROR "write_manpage.cmake: -D${var}=... is required")
  endif()
endforeach()
if(EXISTS "${OUTPUT}" AND NOT "${EXE}" IS_NEWER_THAN "${OUTPUT}")
  return()
endif()

function(run_cli out_var)
  execute_process(COMMAND "${EXE}" ${ARGN} OUTPUT_VARIABLE text ERROR_VARIABLE err RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "`${EXE} ${ARGN}` failed (${rc}): ${err}")
  endif()
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

# Help text as roff without filling: backslashes escaped, no line taken for a request (. ') or,
# by help2man's --include parser, for a section heading ([).
function(roff_literal out_var text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REGEX REPLACE "(^|\n)([.'[])" "\\1\\\\&\\2" text "${text}")
  set(${out_var} ".nf\n${text}\n.fi\n" PARENT_SCOPE)
endfunction()

run_cli(version_text --version)
if(NOT version_text MATCHES "^mprotonet ([^ \n]+)")
  message(FATAL_ERROR "unexpected `mprotonet --version` output: ${version_text}")
endif()
set(version "${CMAKE_MATCH_1}")

# Every subcommand's help from one process (`--help-all`): each process start loads LibTorch.
run_cli(help_all --help-all)
if(NOT help_all MATCHES "\nSubcommands:\n(.*)$")
  message(FATAL_ERROR "no subcommands in `mprotonet --help-all`:\n${help_all}")
endif()
# A subcommand's block starts with its name at the start of a line; the rest is indented.
roff_literal(commands "${CMAKE_MATCH_1}")
string(REGEX REPLACE "\n([a-z][a-z0-9-]*)\n" "\n.fi\n.SS \"mprotonet \\1\"\n.nf\n" commands "${commands}")

get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
string(RANDOM LENGTH 12 tag)
set(include_file "${OUTPUT}.include-${tag}")
set(page "${OUTPUT}.page-${tag}")
file(WRITE "${include_file}" "[COMMANDS]
Every command has its own \\fB\\-\\-help\\fR, shown here. Errors print \\fBmprotonet: error:\\fR naming the file and the
problem; the exit status is 2 for bad usage and 1 for anything else.
${commands}
[ENVIRONMENT]
.TP
.B MPROTONET_DATA_DIR
A folder searched first for the run-time data files (before \\fI../share/mprotonet\\fR beside the
folder of the executable).
.TP
.B MPROTONET_CACHE
Root of the preprocessing cache (default \\fI~/.cache/mprotonet\\fR).
.TP
.B MPROTONET_MALLOC
\\fBsystem\\fR keeps glibc's default heap settings (by default freed memory stays in the process,
which makes training steps 2-3 times faster).
[FILES]
.TP
.I <prefix>/share/mprotonet/
Run-time data (anatomy of the synthetic cohort, viewer code).
.TP
.I <prefix>/share/doc/mprotonet/
README.md, the licence (LICENSE), third-party notices (THIRD_PARTY.md) and CITATION.cff.
[CITING]
Cite the method: Yuanyuan Wei, Roger Tam, Xiaoying Tang. MProtoNet: A Case-Based Interpretable
Model for Brain Tumor Classification with 3D Multi-parametric Magnetic Resonance Imaging. Medical
Imaging with Deep Learning (MIDL 2023), PMLR 227:1798-1812. Cite this software with the version and
commit printed by \\fBmprotonet --version\\fR (see CITATION.cff).
[COPYRIGHT]
Copyright (c) 2026 the MProtoNet C++ contributors. MIT licence; third-party notices in THIRD_PARTY.md.
")
execute_process(COMMAND "${HELP2MAN}" --no-info --section=1 --version-string=${version}
                        "--name=interpretable 3D CNN for glioma grading from multi-parametric MRI (MProtoNet)"
                        --include=${include_file} --output=${page} "${EXE}"
                RESULT_VARIABLE rc ERROR_VARIABLE err)
file(REMOVE "${include_file}")
if(NOT rc EQUAL 0)
  file(REMOVE "${page}")
  message(FATAL_ERROR "help2man failed (${rc}): ${err}")
endif()
execute_process(COMMAND gzip -9nc "${page}" OUTPUT_FILE "${page}.gz" RESULT_VARIABLE rc)
file(REMOVE "${page}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed (${rc}) for ${page}")
endif()
file(RENAME "${page}.gz" "${OUTPUT}")

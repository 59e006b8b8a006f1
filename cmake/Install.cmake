# SPDX-License-Identifier: MIT
# Install rules and the Debian package, included at the end of the top-level CMakeLists.txt.
#   cmake --install build --prefix P   ->  P/bin/mprotonet
#                                          P/share/mprotonet/...          (resources/: run-time data)
#                                          P/share/mprotonet/niivue/      (third_party/niivue/: the viewer)
#                                          P/share/doc/mprotonet/         (LICENSE, THIRD_PARTY.md, CITATION.cff, README.md)
#                                          P/share/man/man1/mprotonet.1.gz (help2man, from --help)
#   cpack --config build/CPackConfig.cmake -G DEB -B OUT  ->  OUT/mprotonet_<version>_<arch>.deb
# The installed binary finds its data at <bin>/../share/mprotonet (core/resources.h) and never
# reads the source tree.
include(GNUInstallDirs)

# `cmake --build build --target install` (and cpack's preinstall step) would otherwise build every
# target first, tests and benchmarks included; installing needs the CLI only.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# A LibTorch outside the system folders (PyTorch's, for a GPU build) stays findable once installed.
set_target_properties(mprotonet PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
# That covers libraries linked by their full path; PyTorch's LibTorch also brings libtorch_cuda.so
# and libc10_cuda.so through its imported targets, found beside libtorch.so at run time only if
# the binary's own RUNPATH names that folder.
get_filename_component(MPROTONET_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
if(MPROTONET_TORCH_LIBDIR AND NOT MPROTONET_TORCH_LIBDIR MATCHES "^/usr/lib")
  set_property(TARGET mprotonet APPEND PROPERTY INSTALL_RPATH "${MPROTONET_TORCH_LIBDIR}")
endif()
install(TARGETS mprotonet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The lookup in core/resources.cpp assumes the data folder is share/mprotonet beside bin/.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/resources/ DESTINATION ${CMAKE_INSTALL_DATADIR}/mprotonet)
# The vendored viewer bundle (report and explain pages copy it beside them), with its licence.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/third_party/niivue DESTINATION ${CMAKE_INSTALL_DATADIR}/mprotonet)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/THIRD_PARTY.md ${PROJECT_SOURCE_DIR}/CITATION.cff
              ${PROJECT_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man page: written at install time from the binary being installed (`--help` of the CLI and of
# every subcommand, `--version`) by Debian's help2man, so it always matches the binary and costs
# nothing while developing.
find_program(HELP2MAN_EXECUTABLE help2man)
if(HELP2MAN_EXECUTABLE)
  set(MPROTONET_MAN_PAGE ${PROJECT_BINARY_DIR}/man/mprotonet.1.gz)
  install(CODE "
    execute_process(COMMAND \"${CMAKE_COMMAND}\" -DEXE=$<TARGET_FILE:mprotonet> -DHELP2MAN=${HELP2MAN_EXECUTABLE}
                            -DOUTPUT=${MPROTONET_MAN_PAGE} -P ${PROJECT_SOURCE_DIR}/cmake/write_manpage.cmake
                    RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR \"writing the man page failed (cmake/write_manpage.cmake)\")
    endif()")
  install(FILES ${MPROTONET_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found (scripts/setup.sh installs it): the man page will not be installed")
endif()

# --- Debian package ----------------------------------------------------------------------
# The runtime dependencies come from dpkg-shlibdeps on the binary: the Debian packages holding
# the shared libraries it loads (libtorch1.13, libnifti2-2, libpng16-16, zlib1g, libc6, ...),
# never the -dev packages it was built with.
set(MPROTONET_DEB_MAINTAINER "the MProtoNet C++ contributors" CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mprotonet)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "the MProtoNet C++ contributors")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "interpretable 3D CNN (MProtoNet) grading gliomas from multi-parametric MRI")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "C++ (LibTorch) implementation of MProtoNet (Wei, Tam, Tang, MIDL 2023): a case-based\n\
interpretable 3D CNN that grades gliomas as high or low grade from four co-registered MRI\n\
modalities and explains each decision with prototypes. Reads BraTS folders and NIfTI files,\n\
generates a synthetic cohort, trains with cross-validation, evaluates interpretability and\n\
writes an offline HTML report.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${MPROTONET_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
include(CPack)


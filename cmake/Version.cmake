# SPDX-License-Identifier: MIT
# The version header of src/mprotonet/core/version.cpp: regenerated at every build by
# cmake/write_version.cmake (a cheap `git rev-parse` + `git status`), rewritten only when the
# commit or the modified state changes. Ninja's restat on the byproduct then recompiles
# version.cpp alone and relinks; nothing else depends on the header.
set(MPROTONET_GIT_COMMIT "" CACHE STRING
    "Commit recorded in the binary when the source tree is not a git checkout (empty: ask git, else \"unknown\")")
set(MPROTONET_VERSION_HEADER ${PROJECT_BINARY_DIR}/generated/mprotonet_build_version.h)
add_custom_target(mprotonet_version
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DOUTPUT=${MPROTONET_VERSION_HEADER}
          -DVERSION=${PROJECT_VERSION} -DCOMMIT=${MPROTONET_GIT_COMMIT}
          -P ${PROJECT_SOURCE_DIR}/cmake/write_version.cmake
  BYPRODUCTS ${MPROTONET_VERSION_HEADER}
  COMMENT "Recording the git commit of the sources"
  VERBATIM)
add_dependencies(mprotonet_core_stage mprotonet_version)
set(MPROTONET_VERSION_SOURCE ${PROJECT_SOURCE_DIR}/src/mprotonet/core/version.cpp)
set_source_files_properties(${MPROTONET_VERSION_SOURCE} PROPERTIES
                            SKIP_UNITY_BUILD_INCLUSION ON SKIP_PRECOMPILE_HEADERS ON)
set_property(SOURCE ${MPROTONET_VERSION_SOURCE} APPEND PROPERTY INCLUDE_DIRECTORIES ${PROJECT_BINARY_DIR}/generated)

# Helpers for the three shapes every folder repeats: a library, a test suite, a benchmark.
# The include root is the repository root, so code includes "signatures/scanner.h".
include(GoogleTest)

# dlp_library(NAME DIR folder DEPS x y)
# Every .cc directly in the folder is part of the library (main programs live in
# folder/bin/ or folder/tools/ and are added separately).
function(dlp_library name)
  cmake_parse_arguments(ARG "" "DIR" "DEPS;EXTRA_SOURCES" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${ARG_DIR}/*.cc)
  if(NOT sources)
    # A folder whose code is not written yet: headers only, so the rest still configures.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${sources} ${ARG_EXTRA_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# dlp_test(NAME DIR folder DEPS lib [LABELS unit])
# One executable per test folder from its *_test.cc files; ctest sees every TEST() on its
# own through gtest_discover_tests.
function(dlp_test name)
  cmake_parse_arguments(ARG "" "DIR" "DEPS;LABELS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${ARG_DIR}/*_test.cc)
  if(NOT sources)
    return()
  endif()
  add_executable(${name} ${sources})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main Threads::Threads)
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  gtest_discover_tests(${name}
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    PROPERTIES LABELS "${labels}"
               ENVIRONMENT "DLP_SOURCE_DIR=${PROJECT_SOURCE_DIR};DLP_BINARY_DIR=${PROJECT_BINARY_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# dlp_bench(NAME SOURCES a_bench.cc DEPS lib)
function(dlp_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark Threads::Threads)
endfunction()

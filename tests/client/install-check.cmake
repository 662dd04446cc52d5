# Installs the built tree into a scratch prefix with `cmake --install`, then builds and runs
# a small program against the installed libdesk twice: through the CMake package
# (find_package(desk) -> desk::desk) and through pkg-config (desk.pc). Also runs the
# installed desk CLI, which must find its library through its RUNPATH.
#
# cmake -DBUILD_DIR=... -DWORK=... -DSRC=... -DCC=... [-DFLAGS=...] -P install-check.cmake
foreach(v BUILD_DIR WORK SRC CC)
    if(NOT DEFINED ${v})
        message(FATAL_ERROR "install-check: ${v} is not set")
    endif()
endforeach()
separate_arguments(flag_list UNIX_COMMAND "${FLAGS}")

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
    endif()
    set(run_out "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK})
set(prefix ${WORK}/prefix)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

file(GLOB_RECURSE pcs ${prefix}/*/desk.pc)
file(GLOB_RECURSE configs ${prefix}/*/deskConfig.cmake)
file(GLOB_RECURSE sonames ${prefix}/*/libdesk.so.0)
foreach(need pcs configs sonames)
    if(NOT ${need})
        message(FATAL_ERROR "install-check: nothing installed for ${need}")
    endif()
endforeach()
foreach(f include/desk/desk.h bin/desk)
    if(NOT EXISTS ${prefix}/${f})
        message(FATAL_ERROR "install-check: ${f} was not installed")
    endif()
endforeach()
message(STATUS "installed: ${pcs} ${configs} ${sonames}")

# 1. CMake package.
run(${CMAKE_COMMAND} -S ${SRC} -B ${WORK}/cmake-build -DCMAKE_PREFIX_PATH=${prefix}
    -DCMAKE_C_COMPILER=${CC} "-DCMAKE_C_FLAGS=${FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}")
run(${CMAKE_COMMAND} --build ${WORK}/cmake-build)
run(${WORK}/cmake-build/consumer)
message(STATUS "find_package(desk): ${run_out}")

# 2. pkg-config, with the .pc file found from the installed tree (relocatable prefix).
list(GET pcs 0 pc)
get_filename_component(pcdir ${pc} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pcdir})
run(pkg-config --cflags --libs desk)
separate_arguments(pc_flags UNIX_COMMAND "${run_out}")
get_filename_component(libdir ${pcdir} DIRECTORY)
run(${CC} ${flag_list} ${SRC}/consumer.c ${pc_flags} -Wl,-rpath,${libdir}
    -o ${WORK}/consumer-pc)
run(${WORK}/consumer-pc)
message(STATUS "pkg-config desk: ${run_out}")

# 3. The installed CLI.
run(${prefix}/bin/desk --version)
message(STATUS "installed desk: ${run_out}")
file(REMOVE_RECURSE ${WORK})

# CMake toolchain file: cross-build hotmem's dom0 programs for the lab's arm64
# dom0 with Debian's aarch64-linux-gnu-gcc.
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=tests/lab/aarch64-toolchain.cmake \
#         -DBUILD_TESTING=OFF -DHOTMEM_SANITIZE=OFF
# The C library comes from the host's libc6-dev-arm64-cross (the compiler's own
# default sysroot, /usr/aarch64-linux-gnu); the Xen, yajl, libfdt and inih
# headers and libraries come from the arm64 packages tests/lab/fetch.sh unpacked
# into <cache>/root, never from the build host's /usr/include or /usr/lib (cache: -DHOTMEM_CACHE, else $HOTMEM_CACHE, else <repo>/.cache/lab).
# pkg-config only looks there (PKG_CONFIG_LIBDIR) and prefixes the .pc files'
# /usr paths with it (PKG_CONFIG_SYSROOT_DIR), so the project's
# pkg_check_modules() lines work unchanged. Their dependencies (libxenctrl needs
# libxencall, ...) are resolved at link time with -rpath-link into the same tree;
# at run time dom0 has them in the standard paths.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(_hotmem_triple aarch64-linux-gnu)
find_program(CMAKE_C_COMPILER ${_hotmem_triple}-gcc)
if(NOT CMAKE_C_COMPILER)
	message(FATAL_ERROR "${_hotmem_triple}-gcc not found: apt-get install gcc-aarch64-linux-gnu "
		"libc6-dev-arm64-cross")
endif()

if(NOT HOTMEM_CACHE)
	if(DEFINED ENV{HOTMEM_CACHE} AND NOT "$ENV{HOTMEM_CACHE}" STREQUAL "")
		set(HOTMEM_CACHE "$ENV{HOTMEM_CACHE}")
	else()
		get_filename_component(HOTMEM_CACHE "${CMAKE_CURRENT_LIST_DIR}/../../.cache/lab" ABSOLUTE)
	endif()
endif()
set(HOTMEM_CACHE "${HOTMEM_CACHE}" CACHE PATH "Lab download cache (tests/lab/fetch.sh)")
# try_compile() projects re-read this file without the cache: hand it over.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HOTMEM_CACHE)

set(HOTMEM_ARM64_ROOT "${HOTMEM_CACHE}/root")
if(NOT EXISTS "${HOTMEM_ARM64_ROOT}/usr/lib/${_hotmem_triple}/pkgconfig/xencontrol.pc")
	message(FATAL_ERROR "no arm64 libxen-dev in ${HOTMEM_ARM64_ROOT}: run tests/lab/fetch.sh "
		"(or set HOTMEM_CACHE to where it put its cache)")
endif()

set(ENV{PKG_CONFIG_LIBDIR}
	"${HOTMEM_ARM64_ROOT}/usr/lib/${_hotmem_triple}/pkgconfig:${HOTMEM_ARM64_ROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${HOTMEM_ARM64_ROOT}")
set(ENV{PKG_CONFIG_PATH} "")

# Debian's cross gcc also searches the build host's /usr/include, where a
# host libyajl-dev/libfdt-dev/libinih-dev/libxen-dev would quietly stand in
# for the arm64 headers (and hide a missing one). -nostdinc drops every
# default directory; the compiler's own headers and the cross libc come back
# explicitly, then the arm64 tree (its usr/include is also where
# <yajl/yajl_gen.h> lives: yajl.pc points one level deeper).
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
	OUTPUT_VARIABLE _hotmem_gcc_include OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT IS_DIRECTORY "${_hotmem_gcc_include}")
	message(FATAL_ERROR "${CMAKE_C_COMPILER} -print-file-name=include gave no directory")
endif()
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include-fixed
	OUTPUT_VARIABLE _hotmem_gcc_include_fixed OUTPUT_STRIP_TRAILING_WHITESPACE)
set(_hotmem_isystem -nostdinc -isystem ${_hotmem_gcc_include})
if(IS_DIRECTORY "${_hotmem_gcc_include_fixed}")
	list(APPEND _hotmem_isystem -isystem ${_hotmem_gcc_include_fixed})
endif()
list(APPEND _hotmem_isystem -isystem /usr/${_hotmem_triple}/include -isystem ${HOTMEM_ARM64_ROOT}/usr/include)
string(JOIN " " CMAKE_C_FLAGS_INIT ${_hotmem_isystem})

set(_hotmem_rpath_link
	"-Wl,-rpath-link,${HOTMEM_ARM64_ROOT}/usr/lib/${_hotmem_triple}:${HOTMEM_ARM64_ROOT}/lib/${_hotmem_triple}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_hotmem_rpath_link}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_hotmem_rpath_link}")

# Programs run on the build host; libraries and headers come from the target.
set(CMAKE_FIND_ROOT_PATH "${HOTMEM_ARM64_ROOT}" /usr/${_hotmem_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The Xen backend's unit tests, included from tests/unit/CMakeLists.txt. They
# exist only when the backend is built (HOTMEM_XEN=ON). test_hv_xen reaches
# into hv/xen for the private header of the pure translations it checks;
# test_hv_xen_libs defines the libxenctrl/libxenstore functions xen.c calls
# (the linker takes the program's own definitions first) and so needs the
# libraries' headers.
if(TARGET hotmem_hv_xen)
	hotmem_add_test(test_hv_xen unit SOURCES test_hv_xen.c LIBS hotmem_hv_xen)
	target_include_directories(test_hv_xen PRIVATE ${CMAKE_SOURCE_DIR}/hv/xen)
	pkg_check_modules(XENLIBS_TEST QUIET IMPORTED_TARGET xencontrol xenstore)
	if(XENLIBS_TEST_FOUND)
		hotmem_add_test(test_hv_xen_libs unit SOURCES test_hv_xen_libs.c
				LIBS hotmem_hv_xen PkgConfig::XENLIBS_TEST)
	endif()
endif()

# The Xen backend's unit test, included from tests/unit/CMakeLists.txt. It
# exists only when the backend is built (HOTMEM_XEN=ON), and it reaches into
# hv/xen for the private header of the pure translations it checks.
if(TARGET hotmem_hv_xen)
	hotmem_add_test(test_hv_xen unit SOURCES test_hv_xen.c LIBS hotmem_hv_xen)
	target_include_directories(test_hv_xen PRIVATE ${CMAKE_SOURCE_DIR}/hv/xen)
endif()

# Unit tests of the guest driver's protocol engine (guest-driver/core), built
# for the host against a fake platform (test_driver_fake.h). Included from
# tests/unit/CMakeLists.txt.
set(HOTMEM_DRIVER_CORE_DIR ${CMAKE_SOURCE_DIR}/guest-driver/core)

hotmem_add_test(test_driver_core unit
	SOURCES test_driver_core.c ${HOTMEM_DRIVER_CORE_DIR}/hotmem_core.c
	LIBS hotmem_abi)
target_include_directories(test_driver_core PRIVATE ${HOTMEM_DRIVER_CORE_DIR})

# The core must build freestanding, like the module sees it, and need nothing
# from outside but memcpy/memset (checked with the ABI's own script).
add_library(hotmem_driver_core_freestanding OBJECT ${HOTMEM_DRIVER_CORE_DIR}/hotmem_core.c)
target_include_directories(hotmem_driver_core_freestanding PRIVATE
	${CMAKE_SOURCE_DIR}/hv/abi/include ${HOTMEM_DRIVER_CORE_DIR})
target_compile_options(hotmem_driver_core_freestanding PRIVATE -ffreestanding -fno-builtin
	-fno-sanitize=all -fno-stack-protector -O2)
# One relocatable object of the core and the ABI, as Kbuild links them.
set(_driver_core_combined ${CMAKE_CURRENT_BINARY_DIR}/driver_core_combined.o)
add_custom_command(OUTPUT ${_driver_core_combined}
	COMMAND ${CMAKE_LINKER} -r -o ${_driver_core_combined}
		$<TARGET_OBJECTS:hotmem_driver_core_freestanding>
		$<TARGET_OBJECTS:hotmem_abi_freestanding>
	DEPENDS hotmem_driver_core_freestanding hotmem_abi_freestanding
		$<TARGET_OBJECTS:hotmem_driver_core_freestanding>
		$<TARGET_OBJECTS:hotmem_abi_freestanding>
	COMMAND_EXPAND_LISTS VERBATIM)
add_custom_target(hotmem_driver_core_combined ALL DEPENDS ${_driver_core_combined})
add_test(NAME check_freestanding_driver_core
	COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check_freestanding.sh ${_driver_core_combined})
set_tests_properties(check_freestanding_driver_core PROPERTIES LABELS unit)

# CMake package of kcp-session-ffi, as scripts/install-session-ffi.sh installs it under
# PREFIX/lib/cmake/kcp_session/. `find_package(kcp_session CONFIG REQUIRED)` then gives
#
#   kcp::session   the static library libkcp_session_ffi.a with kcp_session.h on its
#                  include path and the system libraries it needs (threads, dl, m)
#
# and kcp_session_VERSION. The package is relocatable: paths are found from this file.
include(CMakeFindDependencyMacro)
find_dependency(Threads)

get_filename_component(_kcp_session_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET kcp::session)
  add_library(kcp::session STATIC IMPORTED)
  set_target_properties(kcp::session PROPERTIES
    IMPORTED_LOCATION "${_kcp_session_prefix}/lib/libkcp_session_ffi.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_kcp_session_prefix}/include"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
endif()
foreach(_kcp_session_file "lib/libkcp_session_ffi.a" "include/kcp_session.h")
  if(NOT EXISTS "${_kcp_session_prefix}/${_kcp_session_file}")
    set(kcp_session_FOUND FALSE)
    set(kcp_session_NOT_FOUND_MESSAGE "${_kcp_session_prefix}/${_kcp_session_file} is missing")
  endif()
endforeach()
unset(_kcp_session_file)
unset(_kcp_session_prefix)

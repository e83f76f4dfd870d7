# Dependencies of an executor-only build (TRAINSIM_EXECUTOR_ONLY): LibTorch, and yaml-cpp,
# nlohmann_json and CLI11 either from the system or, on a machine without them, from a folder
# made by scripts/gpu-deps.sh on a Debian machine (TRAINSIM_DEPS_DIR: include/ and lib/).
find_package(Torch REQUIRED)
set(TRAINSIM_HAVE_TORCH ON)
find_package(Threads REQUIRED)
if(TRAINSIM_DEPS_DIR)
  file(GLOB yaml_cpp_library ${TRAINSIM_DEPS_DIR}/lib/libyaml-cpp.so.*)
  list(GET yaml_cpp_library 0 yaml_cpp_library)
  add_library(yaml-cpp SHARED IMPORTED)
  set_target_properties(yaml-cpp PROPERTIES IMPORTED_LOCATION ${yaml_cpp_library}
                                            INTERFACE_INCLUDE_DIRECTORIES ${TRAINSIM_DEPS_DIR}/include)
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${TRAINSIM_DEPS_DIR}/include)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${TRAINSIM_DEPS_DIR}/include)
else()
  find_package(yaml-cpp REQUIRED)
  find_package(nlohmann_json 3.10 REQUIRED)
  find_package(CLI11 REQUIRED)
endif()

# Every dependency comes from Debian 12's packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
# Debian's SimGrid ships a pkg-config file and no CMake package.
pkg_check_modules(SIMGRID REQUIRED IMPORTED_TARGET simgrid>=3.32)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Boost 1.74 REQUIRED)   # Boost.Graph is header-only
find_package(GTest REQUIRED)
find_package(Threads REQUIRED)

# Optional components: say what is missing and build the rest.
set(TRAINSIM_HAVE_QT OFF)
if(TRAINSIM_GUI)
  find_package(Qt6 QUIET COMPONENTS Widgets Charts Svg Test)
  if(Qt6_FOUND)
    set(TRAINSIM_HAVE_QT ON)
  else()
    message(STATUS "trainsim: Qt6 Widgets/Charts not found: the GUI is not built (run scripts/setup.sh)")
  endif()
endif()

# MPI (Debian's OpenMPI) lets `mpirun -n N trainsim search` split the plan space over ranks.
find_package(MPI QUIET COMPONENTS CXX)
set(TRAINSIM_HAVE_MPI ${MPI_CXX_FOUND})
if(NOT MPI_CXX_FOUND)
  message(STATUS "trainsim: MPI not found: search runs in one process (run scripts/setup.sh)")
endif()

set(TRAINSIM_HAVE_TORCH OFF)
if(TRAINSIM_EXECUTOR)
  find_package(Torch QUIET)
  if(Torch_FOUND)
    set(TRAINSIM_HAVE_TORCH ON)
  else()
    message(STATUS "trainsim: LibTorch not found: the executor is not built (run scripts/setup.sh)")
  endif()
endif()

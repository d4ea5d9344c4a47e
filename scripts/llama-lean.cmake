# Included at the end of llama.cpp's project() while `make setup` builds llama-cpp-python
# (-DCMAKE_PROJECT_llama.cpp_INCLUDE=<this file>).
#
# llama-cpp-python forces LLAMA_BUILD_COMMON ON in the CMake cache, yet installs nothing that links
# llama.cpp's common library (argument parsing, HTTP downloads, chat parsers: for llama.cpp's own
# programs); only libllama, libggml* and libmtmd go into the wheel. A normal variable shadows that
# cache entry in llama.cpp's directory (its option() leaves it alone: policy CMP0077), so neither
# llama-common nor its cpp-httplib is compiled, and its install rule is skipped.
set(LLAMA_BUILD_COMMON OFF)

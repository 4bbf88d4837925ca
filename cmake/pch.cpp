// The translation unit that owns the project's one precompiled header (see edgeway_pch in the
// top-level CMakeLists.txt); every other target reuses it.

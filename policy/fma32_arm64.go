package policy

// fma32 returns a*b+c rounded once to float32. On arm64 the compiler
// fuses a float32 multiply and add into one FMADDS instruction, which
// rounds once (TestFMA32 checks it against exact arithmetic), so the
// portable kernels run at native speed here.
func fma32(a, b, c float32) float32 { return a*b + c }

// RUN: ge-opt --help | filecheck %s
// Every pass is listed with its one-line docstring.

// CHECK: gedialects passes
// CHECK: fold-constants {{ +}}Evaluate ops whose operands are all constants
// CHECK: fuse-conv-bn-relu {{ +}}Fuse conv2d + batch_norm
// CHECK: select-implementations {{ +}}Choose each kernel's implementation

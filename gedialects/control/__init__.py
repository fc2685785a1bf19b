"""Control flow in `ge` programs: interpreter support for scf, arith and tensor.extract."""

// memspice command-line interface (subcommands are added as the libraries land).
#include <cstdio>

int main(int argc, char** argv) {
  std::puts("memspice 0.1.0");
  return 0;
}

// expect: 4:1: error: #error VERSION must be defined
#include <core.p4>
#ifndef VERSION
#error VERSION must be defined
#endif

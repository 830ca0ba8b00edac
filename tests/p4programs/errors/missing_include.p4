// expect: 3:1: error: cannot find include file 'does_not_exist.p4'
#include <core.p4>
#include "does_not_exist.p4"

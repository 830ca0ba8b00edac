"""Mid end: instantiation and inlining of the checked program for the BMv2 back end."""

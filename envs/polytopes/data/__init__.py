"""Shipped smooth Fano data, d = 2..8 (xz-compressed packed arrays; format in README.md).

Cite whenever the data is used (the data's terms of use): M. Øbro, "An algorithm for the
classification of smooth Fano polytopes", arXiv:0704.0049; and the Graded Ring Database,
http://grdb.lboro.ac.uk/forms/toricsmooth.
"""

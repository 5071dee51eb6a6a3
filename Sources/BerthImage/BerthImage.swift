// The image half of the engine; see the files beside this one.

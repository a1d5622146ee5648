/* softmax.h: placeholder, filled below */

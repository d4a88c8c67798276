/**
 * The words the sample pool's captions and urls are made of: twelve topics, ten of them ImageNet-like
 * (the target set covers them) and two that a web crawl is full of but an ImageNet-like target is not.
 */

export interface Topic {
  /** Short name, shown in the demo. */
  name: string;
  /** Whether the NormSim target set covers this topic. */
  inTarget: boolean;
  /** Caption = [qualifier] subject [setting], each picked at random. */
  qualifiers: readonly string[];
  subjects: readonly string[];
  settings: readonly string[];
  /** Where such images are hosted, for urls. */
  hosts: readonly string[];
}

export const TOPICS: readonly Topic[] = [
  {
    name: 'dogs',
    inTarget: true,
    qualifiers: ['a happy', 'a small', 'a sleepy', 'an old', 'a wet'],
    subjects: ['golden retriever', 'beagle', 'husky puppy', 'border collie', 'dachshund'],
    settings: ['running on the beach', 'in the snow', 'on a sofa', 'catching a ball', 'in the park'],
    hosts: ['dogphotos.example', 'petpics.example'],
  },
  {
    name: 'cats',
    inTarget: true,
    qualifiers: ['a fluffy', 'a ginger', 'a black', 'a curious', 'a tabby'],
    subjects: ['cat', 'kitten', 'maine coon', 'siamese cat', 'persian cat'],
    settings: ['asleep in a box', 'on a windowsill', 'playing with yarn', 'under a blanket', 'in the garden'],
    hosts: ['catlovers.example', 'petpics.example'],
  },
  {
    name: 'birds',
    inTarget: true,
    qualifiers: ['a colourful', 'a tiny', 'a wild', 'a perched', 'a flying'],
    subjects: ['robin', 'parrot', 'hummingbird', 'barn owl', 'kingfisher'],
    settings: ['on a branch', 'at a feeder', 'over the lake', 'in the rain', 'in spring'],
    hosts: ['birdwatch.example', 'naturecam.example'],
  },
  {
    name: 'cars',
    inTarget: true,
    qualifiers: ['a red', 'a vintage', 'a used', 'an electric', 'a classic'],
    subjects: ['sports car', 'pickup truck', 'convertible', 'station wagon', 'hatchback'],
    settings: ['for sale', 'on a mountain road', 'at a car show', 'parked downtown', 'at night'],
    hosts: ['autotrader.example', 'carblog.example'],
  },
  {
    name: 'flowers',
    inTarget: true,
    qualifiers: ['a bouquet of', 'a field of', 'fresh', 'wild', 'pink'],
    subjects: ['tulips', 'sunflowers', 'roses', 'daisies', 'orchids'],
    settings: ['in a vase', 'at sunrise', 'in a greenhouse', 'after the rain', 'close up'],
    hosts: ['florist.example', 'gardenweb.example'],
  },
  {
    name: 'food',
    inTarget: true,
    qualifiers: ['homemade', 'a plate of', 'fresh', 'spicy', 'a slice of'],
    subjects: ['pizza', 'ramen', 'chocolate cake', 'tacos', 'fruit salad'],
    settings: ['on a wooden table', 'from above', 'at a street market', 'with friends', 'recipe'],
    hosts: ['recipes.example', 'foodblog.example'],
  },
  {
    name: 'boats',
    inTarget: true,
    qualifiers: ['a wooden', 'a white', 'an old', 'a racing', 'a fishing'],
    subjects: ['sailboat', 'canoe', 'ferry', 'yacht', 'trawler'],
    settings: ['in the harbour', 'at sunset', 'on calm water', 'in a storm', 'at the dock'],
    hosts: ['marina.example', 'sailing.example'],
  },
  {
    name: 'mountains',
    inTarget: true,
    qualifiers: ['a snowy', 'a misty', 'a rocky', 'a distant', 'a green'],
    subjects: ['mountain peak', 'alpine valley', 'volcano', 'glacier', 'ridge'],
    settings: ['at dawn', 'under a blue sky', 'reflected in a lake', 'in autumn', 'from a trail'],
    hosts: ['travelpics.example', 'hiking.example'],
  },
  {
    name: 'furniture',
    inTarget: true,
    qualifiers: ['a modern', 'an antique', 'a wooden', 'a leather', 'a minimalist'],
    subjects: ['armchair', 'dining table', 'bookshelf', 'sofa', 'desk'],
    settings: ['in a living room', 'in a showroom', 'for sale', 'by the window', 'in scandinavian style'],
    hosts: ['homedecor.example', 'furnishop.example'],
  },
  {
    name: 'instruments',
    inTarget: true,
    qualifiers: ['an acoustic', 'a vintage', 'a shiny', 'a grand', 'a handmade'],
    subjects: ['guitar', 'violin', 'piano', 'trumpet', 'drum kit'],
    settings: ['on stage', 'in a music shop', 'being played', 'on a stand', 'in the studio'],
    hosts: ['musicgear.example', 'concerts.example'],
  },
  {
    name: 'documents',
    inTarget: false,
    qualifiers: ['a screenshot of', 'a scanned', 'a printable', 'a blank', 'a filled in'],
    subjects: ['invoice', 'spreadsheet', 'tax form', 'receipt', 'slide deck'],
    settings: ['template', 'page 2', 'in pdf', 'for download', 'example'],
    hosts: ['docs.example', 'templates.example'],
  },
  {
    name: 'logos',
    inTarget: false,
    qualifiers: ['a flat', 'a vector', 'a minimal', 'a colourful', 'a 3d'],
    subjects: ['company logo', 'app icon', 'emblem', 'clip art banner', 'icon set'],
    settings: ['on white background', 'png', 'design', 'free download', 'for a startup'],
    hosts: ['logos.example', 'clipart.example'],
  },
];

/** Captions that fit almost any image, the kind CLIPScore rewards and negCLIPLoss does not. */
export const GENERIC_CAPTIONS: readonly string[] = [
  'image',
  'photo',
  'a photo',
  'picture',
  'an image of something',
  'photo of a thing',
  'stock photo',
  'a picture of it',
  'view',
  'untitled image',
];
